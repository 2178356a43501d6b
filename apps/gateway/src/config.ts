/**
 * The gateway's configuration file: a list of services, each with its route
 * prefix, upstream, payload-encryption switch, mode and key id.
 *
 * ```json
 * { "services": [
 *   { "name": "payouts", "routePrefix": "/partner", "upstream": "http://127.0.0.1:3001",
 *     "enabled": true, "keyId": "partner-acme-1", "mode": "fields", "policy": ["beneficiary.iban"] }
 * ] }
 * ```
 *
 * Keys are only ever referenced by id: a service entry that carries anything
 * that looks like key material (`k`, `key`, `jwk`, `keys`, `secret`) is
 * refused, and so is every member this file does not define.
 */
import { FieldPolicy } from '@wireseal/core';
import type { KeySet } from '@wireseal/core';
import { PolicyInvalidError } from '@wireseal/core/errors';

/** One service as written in the file. */
export interface ServiceConfigJson {
  /** Unique name: lower-case letters, digits and `-`. */
  name: string;
  /** Path prefix clients call, e.g. `/partner`; matched on whole path segments. Unique. */
  routePrefix: string;
  /** Base URL of the downstream service (`http:` or `https:`); the rest of the path is appended. */
  upstream: string;
  /** Payload encryption on (`true`) or off (`false`: bytes pass through untouched). */
  enabled: boolean;
  /** Id of the service's key in the gateway's key store. */
  keyId: string;
  /** `fields` (JSON with sealed policy fields) or `whole` (`application/jose` bodies). */
  mode: 'fields' | 'whole';
  /** Fields mode: the agreed-upon encrypted attributes. */
  policy?: string[] | { fields: string[] };
  /** `required` (default): plaintext is refused. `optional`: plaintext clients keep working. */
  encryption?: 'required' | 'optional';
  /** Further key ids still accepted for decryption (a key change in progress); never used to seal. */
  acceptKeyIds?: string[];
  /** Largest request body, as sent, in bytes. Default 1 MiB. */
  maxBodyBytes?: number;
  /** Free text for humans. */
  description?: string;
}

/** The whole file. */
export interface GatewayConfigJson {
  services: ServiceConfigJson[];
}

/** A validated service. */
export interface ServiceConfig {
  readonly name: string;
  readonly routePrefix: string;
  readonly upstream: URL;
  readonly enabled: boolean;
  readonly keyId: string;
  readonly mode: 'fields' | 'whole';
  readonly policy: FieldPolicy | undefined;
  readonly encryption: 'required' | 'optional';
  readonly acceptKeyIds: readonly string[];
  readonly maxBodyBytes: number | undefined;
}

const MEMBERS = new Set(['name', 'routePrefix', 'upstream', 'enabled', 'keyId', 'mode', 'policy', 'encryption', 'acceptKeyIds', 'maxBodyBytes', 'description']);
const KEY_MATERIAL = new Set(['k', 'key', 'keys', 'jwk', 'jwks', 'secret', 'keyMaterial']);
const NAME_RE = /^[a-z0-9][a-z0-9-]{0,62}$/;
const PREFIX_RE = /^\/[A-Za-z0-9._~-]+(\/[A-Za-z0-9._~-]+)*$/;

function bad(where: string, why: string): never {
  throw new PolicyInvalidError(`gateway config: ${where}: ${why}`);
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function kidList(where: string, v: unknown, store: KeySet): string[] {
  if (v === undefined) return [];
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) bad(where, 'acceptKeyIds must be an array of key ids');
  for (const kid of v as string[]) if (!store.has(kid)) bad(where, 'acceptKeyIds names a key id the key store does not hold');
  return [...(v as string[])];
}

function parseService(raw: unknown, index: number, store: KeySet): ServiceConfig {
  let where = `services[${index}]`;
  if (!isObject(raw)) bad(where, 'must be an object');
  if (typeof raw.name === 'string' && NAME_RE.test(raw.name)) where += ` (${raw.name})`;
  for (const member of Object.keys(raw)) {
    if (KEY_MATERIAL.has(member)) bad(where, `"${member}" is not allowed: keys are referenced by keyId only, never written into this file`);
    if (!MEMBERS.has(member)) bad(where, `unknown member "${member.replace(/[^\x20-\x7e]/g, '?').slice(0, 40)}"`);
  }
  if (typeof raw.name !== 'string' || !NAME_RE.test(raw.name)) bad(where, 'name must be 1-63 lower-case letters, digits or "-"');
  if (typeof raw.routePrefix !== 'string' || !PREFIX_RE.test(raw.routePrefix)) bad(where, 'routePrefix must be a path like "/partner" (no trailing slash, no query)');
  if (raw.routePrefix.startsWith('/_gateway')) bad(where, 'routePrefix "/_gateway" is reserved');
  let upstream: URL;
  try {
    upstream = new URL(String(raw.upstream));
  } catch {
    bad(where, 'upstream must be an absolute http(s) URL');
  }
  if (upstream.protocol !== 'http:' && upstream.protocol !== 'https:') bad(where, 'upstream must be an http: or https: URL');
  if (upstream.search || upstream.hash || upstream.username || upstream.password) bad(where, 'upstream must not carry a query, fragment or credentials');
  if (typeof raw.enabled !== 'boolean') bad(where, 'enabled must be true or false');
  if (typeof raw.keyId !== 'string' || raw.keyId.length === 0) bad(where, 'keyId must name a key in the key store');
  if (!store.has(raw.keyId)) bad(where, 'keyId names a key id the key store does not hold');
  if (raw.mode !== 'fields' && raw.mode !== 'whole') bad(where, 'mode must be "fields" or "whole"');
  let policy: FieldPolicy | undefined;
  if (raw.mode === 'fields') {
    if (raw.policy === undefined) bad(where, 'fields mode needs a policy');
    try {
      policy = FieldPolicy.parse(raw.policy as string[]);
    } catch (err) {
      bad(where, `policy: ${(err as Error).message}`);
    }
  } else if (raw.policy !== undefined) {
    bad(where, 'a policy only applies to fields mode');
  }
  const encryption = raw.encryption ?? 'required';
  if (encryption !== 'required' && encryption !== 'optional') bad(where, 'encryption must be "required" or "optional"');
  const maxBodyBytes = raw.maxBodyBytes;
  if (maxBodyBytes !== undefined && !(Number.isInteger(maxBodyBytes) && (maxBodyBytes as number) > 0)) bad(where, 'maxBodyBytes must be a positive integer');
  if (raw.description !== undefined && typeof raw.description !== 'string') bad(where, 'description must be a string');
  return Object.freeze({
    name: raw.name,
    routePrefix: raw.routePrefix,
    upstream,
    enabled: raw.enabled,
    keyId: raw.keyId,
    mode: raw.mode,
    policy,
    encryption,
    acceptKeyIds: Object.freeze(kidList(where, raw.acceptKeyIds, store)),
    maxBodyBytes: maxBodyBytes as number | undefined,
  });
}

/**
 * Parses and validates a configuration (JSON text or object) against the key
 * store in force: every `keyId` and `acceptKeyIds` entry must name a key the
 * store holds.
 * @throws PolicyInvalidError (`ERR_POLICY_INVALID`) naming the service and the problem, never key material
 */
export function parseGatewayConfig(input: unknown, store: KeySet): ServiceConfig[] {
  let doc: unknown = input;
  if (typeof input === 'string') {
    try {
      doc = JSON.parse(input);
    } catch {
      bad('file', 'not valid JSON');
    }
  }
  if (!isObject(doc) || !Array.isArray(doc.services)) bad('file', 'must be an object with a "services" array');
  for (const member of Object.keys(doc)) if (member !== 'services' && member !== '$schema') bad('file', `unknown member "${member.replace(/[^\x20-\x7e]/g, '?').slice(0, 40)}"`);
  const services = (doc.services as unknown[]).map((s, i) => parseService(s, i, store));
  const names = new Set<string>();
  const prefixes = new Set<string>();
  for (const s of services) {
    if (names.has(s.name)) bad(`service ${s.name}`, 'name is not unique');
    if (prefixes.has(s.routePrefix)) bad(`service ${s.name}`, `routePrefix ${s.routePrefix} is not unique`);
    names.add(s.name);
    prefixes.add(s.routePrefix);
  }
  return services;
}

/** The service whose prefix matches `path` on whole segments (the longest match), or undefined. */
export function matchService(services: readonly ServiceConfig[], path: string): ServiceConfig | undefined {
  let best: ServiceConfig | undefined;
  for (const s of services) {
    if ((path === s.routePrefix || path.startsWith(`${s.routePrefix}/`)) && (!best || s.routePrefix.length > best.routePrefix.length)) best = s;
  }
  return best;
}
