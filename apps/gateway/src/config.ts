/**
 * The gateway's configuration file: a list of services, each with its route
 * prefix, upstream, payload-encryption switch, mode and key id, or, for a
 * fields-mode service whose policy has audiences, a keyring: one key id per
 * audience.
 *
 * ```json
 * { "services": [
 *   { "name": "payouts", "routePrefix": "/partner", "upstream": "http://127.0.0.1:3001",
 *     "enabled": true, "keyId": "partner-acme-1", "mode": "fields", "policy": ["beneficiary.iban"] },
 *   { "name": "cards", "routePrefix": "/cards", "upstream": "http://127.0.0.1:3002", "enabled": true, "mode": "fields",
 *     "policy": { "audiences": { "pci": ["card.number"], "pii": ["customer.ssn"] }, "bind": ["id"] },
 *     "keyring": { "pci": "cards-pci-2", "pii": { "keyId": "cards-pii-2", "acceptKeyIds": ["cards-pii-1"] } } }
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
  /** Id of the service's key in the gateway's key store. Either this or `keyring`. */
  keyId?: string;
  /**
   * Fields mode, instead of `keyId`: one key of the key store per audience of
   * the policy (every audience, none other), by id, or `{ keyId, acceptKeyIds }`
   * during that audience's key change.
   */
  keyring?: Record<string, string | KeyringEntryJson>;
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

/** One audience's keys in a service's `keyring`. */
export interface KeyringEntryJson {
  /** The audience's key: it opens requests and seals responses. */
  keyId: string;
  /** Further key ids still accepted for this audience's decryption; never used to seal. */
  acceptKeyIds?: string[];
}

/** The keys of one audience, validated against the key store. */
export interface ServiceKeyRef {
  readonly keyId: string;
  readonly acceptKeyIds: readonly string[];
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
  /** The service's one key; undefined when it has a `keyring`. */
  readonly keyId: string | undefined;
  /** Audience → its key ids (fields mode); undefined when it has one `keyId`. */
  readonly keyring: Readonly<Record<string, ServiceKeyRef>> | undefined;
  readonly mode: 'fields' | 'whole';
  readonly policy: FieldPolicy | undefined;
  readonly encryption: 'required' | 'optional';
  readonly acceptKeyIds: readonly string[];
  readonly maxBodyBytes: number | undefined;
}

const MEMBERS = new Set(['name', 'routePrefix', 'upstream', 'enabled', 'keyId', 'keyring', 'mode', 'policy', 'encryption', 'acceptKeyIds', 'maxBodyBytes', 'description']);
const ENTRY_MEMBERS = new Set(['keyId', 'acceptKeyIds']);
const KEY_MATERIAL = new Set(['k', 'key', 'keys', 'jwk', 'jwks', 'secret', 'keyMaterial']);
const NAME_RE = /^[a-z0-9][a-z0-9-]{0,62}$/;
const PREFIX_RE = /^\/[A-Za-z0-9._~-]+(\/[A-Za-z0-9._~-]+)*$/;

/**
 * A configuration the gateway refuses (`ERR_POLICY_INVALID`). `field` names the service's
 * member at fault (`keyId`, `policy`, `keyring.bank`, …) when there is one, and
 * `keyMaterial` is true when the refusal is key material written where only key ids belong.
 */
export class GatewayConfigError extends PolicyInvalidError {
  /** The member of the service at fault, e.g. `keyId`, `policy`, `keyring.bank.acceptKeyIds`; undefined for the file as a whole. */
  readonly field: string | undefined;
  /** The index of the service in `services`, when the fault is inside one. */
  readonly serviceIndex: number | undefined;
  /** True when the member holds, or is named like, key material. */
  readonly keyMaterial: boolean;
  constructor(message: string, field?: string, serviceIndex?: number, keyMaterial = false) {
    super(message);
    this.field = field;
    this.serviceIndex = serviceIndex;
    this.keyMaterial = keyMaterial;
  }
}

let currentIndex: number | undefined;

function bad(where: string, why: string, field?: string, keyMaterial = false): never {
  throw new GatewayConfigError(`gateway config: ${where}: ${why}`, field, currentIndex, keyMaterial);
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Printable and short: for names taken from the file into messages. */
const shown = (name: string): string => JSON.stringify(name.replace(/[^\x20-\x7e]/g, '?').slice(0, 64));

function kidList(where: string, v: unknown, store: KeySet, member = 'acceptKeyIds'): string[] {
  if (v === undefined) return [];
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) bad(where, `${member} must be an array of key ids`, member);
  for (const kid of v as string[]) if (!store.has(kid)) bad(where, `${member} names a key id the key store does not hold`, member);
  return [...(v as string[])];
}

/**
 * A fields-mode service's keyring: every audience of the policy, each with a
 * key id of the store (a string, or `{ keyId, acceptKeyIds }`).
 */
function parseKeyring(where: string, raw: unknown, policy: FieldPolicy | undefined, store: KeySet): Record<string, ServiceKeyRef> {
  if (!policy) bad(where, 'a keyring only applies to fields mode (whole mode seals with one key: use keyId)', 'keyring');
  if (!isObject(raw)) bad(where, 'keyring must be an object: audience name → key id', 'keyring');
  const audiences = policy.audiences;
  const ring: Record<string, ServiceKeyRef> = {};
  for (const [audience, entry] of Object.entries(raw)) {
    if (!audiences.includes(audience)) bad(where, `keyring names audience ${shown(audience)}, which the policy does not have (${audiences.join(', ')})`, 'keyring');
    const at = `keyring.${audience}`;
    let keyId: unknown = entry;
    let accept: string[] = [];
    if (isObject(entry)) {
      for (const member of Object.keys(entry)) {
        if (KEY_MATERIAL.has(member)) bad(where, `${at}: "${member}" is not allowed: keys are referenced by id only, never written into this file`, `${at}.${member}`, true);
        if (!ENTRY_MEMBERS.has(member)) bad(where, `${at}: unknown member ${shown(member)} (keyId, acceptKeyIds)`, at);
      }
      keyId = entry.keyId;
      accept = kidList(where, entry.acceptKeyIds, store, `${at}.acceptKeyIds`);
    }
    if (typeof keyId !== 'string' || keyId.length === 0) bad(where, `${at} must be a key id, or { "keyId": ..., "acceptKeyIds": [...] }`, at);
    if (!store.has(keyId)) bad(where, `${at} names a key id the key store does not hold`, at);
    ring[audience] = Object.freeze({ keyId, acceptKeyIds: Object.freeze(accept) });
  }
  const missing = audiences.filter((a) => !(a in ring));
  if (missing.length > 0) bad(where, `keyring lacks the policy's audience${missing.length > 1 ? 's' : ''} ${missing.join(', ')}: the gateway opens every audience before forwarding plaintext and seals every audience of the answer`, 'keyring');
  return ring;
}

function parseService(raw: unknown, index: number, store: KeySet): ServiceConfig {
  let where = `services[${index}]`;
  if (!isObject(raw)) bad(where, 'must be an object');
  if (typeof raw.name === 'string' && NAME_RE.test(raw.name)) where += ` (${raw.name})`;
  for (const member of Object.keys(raw)) {
    if (KEY_MATERIAL.has(member)) bad(where, `"${member}" is not allowed: keys are referenced by keyId only, never written into this file`, member, true);
    if (!MEMBERS.has(member)) bad(where, `unknown member "${member.replace(/[^\x20-\x7e]/g, '?').slice(0, 40)}"`, member);
  }
  if (typeof raw.name !== 'string' || !NAME_RE.test(raw.name)) bad(where, 'name must be 1-63 lower-case letters, digits or "-"', 'name');
  if (typeof raw.routePrefix !== 'string' || !PREFIX_RE.test(raw.routePrefix)) bad(where, 'routePrefix must be a path like "/partner" (no trailing slash, no query)', 'routePrefix');
  if (raw.routePrefix.startsWith('/_gateway')) bad(where, 'routePrefix "/_gateway" is reserved', 'routePrefix');
  let upstream: URL;
  try {
    upstream = new URL(String(raw.upstream));
  } catch {
    bad(where, 'upstream must be an absolute http(s) URL', 'upstream');
  }
  if (upstream.protocol !== 'http:' && upstream.protocol !== 'https:') bad(where, 'upstream must be an http: or https: URL', 'upstream');
  if (upstream.search || upstream.hash || upstream.username || upstream.password) bad(where, 'upstream must not carry a query, fragment or credentials', 'upstream');
  if (typeof raw.enabled !== 'boolean') bad(where, 'enabled must be true or false', 'enabled');
  if (raw.keyId !== undefined && raw.keyring !== undefined) bad(where, 'keyId and keyring exclude each other: one key for the service, or one per audience', 'keyId');
  if (raw.keyring === undefined) {
    if (typeof raw.keyId !== 'string' || raw.keyId.length === 0) bad(where, 'keyId must name a key in the key store (or keyring, one key per audience)', 'keyId');
    if (!store.has(raw.keyId)) bad(where, 'keyId names a key id the key store does not hold', 'keyId');
  } else if (raw.acceptKeyIds !== undefined) {
    bad(where, 'acceptKeyIds goes inside the keyring entry of its audience ({ "keyId": ..., "acceptKeyIds": [...] })', 'acceptKeyIds');
  }
  if (raw.mode !== 'fields' && raw.mode !== 'whole') bad(where, 'mode must be "fields" or "whole"', 'mode');
  let policy: FieldPolicy | undefined;
  if (raw.mode === 'fields') {
    if (raw.policy === undefined) bad(where, 'fields mode needs a policy', 'policy');
    try {
      policy = FieldPolicy.parse(raw.policy as string[]);
    } catch (err) {
      bad(where, `policy: ${(err as Error).message}`, 'policy');
    }
  } else if (raw.policy !== undefined) {
    bad(where, 'a policy only applies to fields mode', 'policy');
  }
  const keyring = raw.keyring === undefined ? undefined : Object.freeze(parseKeyring(where, raw.keyring, policy, store));
  if (!keyring && policy && policy.audiences.length > 1) {
    bad(where, `the policy has audiences ${policy.audiences.join(', ')}: name a key per audience with keyring instead of keyId`, 'keyId');
  }
  const encryption = raw.encryption ?? 'required';
  if (encryption !== 'required' && encryption !== 'optional') bad(where, 'encryption must be "required" or "optional"', 'encryption');
  const maxBodyBytes = raw.maxBodyBytes;
  if (maxBodyBytes !== undefined && !(Number.isInteger(maxBodyBytes) && (maxBodyBytes as number) > 0)) bad(where, 'maxBodyBytes must be a positive integer', 'maxBodyBytes');
  if (raw.description !== undefined && typeof raw.description !== 'string') bad(where, 'description must be a string', 'description');
  return Object.freeze({
    name: raw.name,
    routePrefix: raw.routePrefix,
    upstream,
    enabled: raw.enabled,
    keyId: keyring ? undefined : (raw.keyId as string),
    keyring,
    mode: raw.mode,
    policy,
    encryption,
    acceptKeyIds: Object.freeze(kidList(where, raw.acceptKeyIds, store)),
    maxBodyBytes: maxBodyBytes as number | undefined,
  });
}

/**
 * Parses and validates a configuration (JSON text or object) against the key
 * store in force: every `keyId` and `acceptKeyIds` entry (of the service or of
 * its keyring) must name a key the store holds, and a keyring must name
 * exactly the audiences of the service's policy.
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
  try {
    const services = (doc.services as unknown[]).map((s, i) => {
      currentIndex = i;
      return parseService(s, i, store);
    });
    const names = new Set<string>();
    const prefixes = new Set<string>();
    for (const [i, s] of services.entries()) {
      currentIndex = i;
      if (names.has(s.name)) bad(`service ${s.name}`, 'name is not unique', 'name');
      if (prefixes.has(s.routePrefix)) bad(`service ${s.name}`, `routePrefix ${s.routePrefix} is not unique`, 'routePrefix');
      names.add(s.name);
      prefixes.add(s.routePrefix);
    }
    return services;
  } finally {
    currentIndex = undefined;
  }
}

/** The service whose prefix matches `path` on whole segments (the longest match), or undefined. */
export function matchService(services: readonly ServiceConfig[], path: string): ServiceConfig | undefined {
  let best: ServiceConfig | undefined;
  for (const s of services) {
    if ((path === s.routePrefix || path.startsWith(`${s.routePrefix}/`)) && (!best || s.routePrefix.length > best.routePrefix.length)) best = s;
  }
  return best;
}
