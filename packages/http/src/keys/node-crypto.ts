/**
 * `node:crypto` through core's one built-in loader (it throws
 * `ERR_RUNTIME_UNSUPPORTED` where the runtime has none).
 */
export { nodeCrypto } from '@wireseal/core/internal';
