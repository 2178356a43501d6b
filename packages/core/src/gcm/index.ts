/**
 * The batched AES-256-GCM engine: many small messages under one key, one
 * native call per batch, constant-time GHASH in JavaScript. See `./README.md`.
 */
export { GCM_AHEAD_MAX_BYTES, GCM_IV_BYTES, GCM_MAX_AAD_BYTES, GCM_MAX_ITEM_BYTES, GCM_TAG_BYTES, GcmKey, PreparedAad, prepareGcmKey } from './gcm.ts';
export type { GcmOpenItem, GcmSealItem, GcmSealed } from './gcm.ts';
