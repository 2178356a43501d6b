/**
 * Per-route configuration: mode, field policy, required/optional, keys,
 * context binding, limits, freshness. Compiled once at start-up so that bad
 * configuration fails there (`ERR_POLICY_INVALID`), not on the first request.
 */
import { FieldPolicy, KeySet } from '@wireseal/core';
import type { Context, FieldKeys, FieldPolicyJson, KeyProvider, Keyring, KeySource, SymmetricAlg } from '@wireseal/core';
import { KeySourceError, PolicyInvalidError } from '@wireseal/core/errors';
import type { PayloadProfile } from '../profiles/types.ts';
import type { RequestHead } from '../media/media.ts';

/** `fields`: JSON whose policy fields hold tokens. `whole`: the body is one sealed payload (`application/jose`). */
export type SealMode = 'fields' | 'whole';

/**
 * `required`: every request body must be sealed (and responses are always
 * sealed). `optional`: plaintext clients keep working during adoption;
 * responses are sealed only for clients that sealed their request or asked.
 */
export type Encryption = 'required' | 'optional';

/** A `wsc` context, fixed or computed from the request (e.g. a tenant header). */
export type ContextOption = Context | ((request: RequestHead) => Context);

/** A field policy, parsed or as JSON. */
export type PolicyOption = FieldPolicy | FieldPolicyJson | readonly string[];

/** The freshness window for whole payloads (`iat`). */
export interface FreshnessOptions {
  /** Oldest accepted `iat`, in seconds before now. Default 120. */
  maxAgeSeconds?: number;
  /** How far `iat` may lie in the future (clock skew). Default 30. */
  clockSkewSeconds?: number;
}

/** How one route (or one client call) seals and opens bodies. */
export interface RouteOptions {
  /** `fields` or `whole`. */
  mode: SealMode;
  /** `required` (default) or `optional`. */
  encryption?: Encryption;
  /** Fields mode: the policy for request bodies (and responses, unless `responsePolicy`). */
  policy?: PolicyOption;
  /** Fields mode: the policy for response bodies. Default: `policy`. */
  responsePolicy?: PolicyOption;
  /**
   * Fields mode: request policy paths that must be present (`true`: all of
   * them). The side that seals the request (the client) refuses to send a body
   * without them, and the server refuses to open one (`ERR_FIELD_MISSING`), so a
   * mistyped path or a renamed member cannot silently travel in plaintext.
   * Default: none (paths that match nothing are reported in `unmatched`).
   */
  requireMatch?: boolean | readonly string[];
  /** Fields mode: the same for response bodies, against the response policy. Default: none. */
  responseRequireMatch?: boolean | readonly string[];
  /**
   * Keys for this route. Default: the adapter's `keys`. Fields mode: a
   * keyring (audience name → its key set or provider, `{ pci: pciKeys, pii:
   * piiKeys }`) holding the audiences this side may open or must seal, or one
   * key set or provider for a policy with one audience. Whole mode: one
   * shared key set or provider (a keyring is `ERR_POLICY_INVALID`); routes
   * whose profiles all carry their own keys (public-key profiles) need none.
   */
  keys?: FieldKeys;
  /** Context bound (`wsc`) into request tokens. Default: none; both sides must configure the same. */
  context?: ContextOption;
  /** Context bound (`wsc`) into response tokens. Default: none. */
  responseContext?: ContextOption;
  /**
   * Bind every token of this route to its direction (default `true`): the
   * `wsc` context of a shared-key token (fields, whole `application/jose`)
   * gets the entry `"wireseal-http": "request"` or `"response"`
   * ({@link DIRECTION_CONTEXT_KEY}), so a response cannot be posted back as a
   * request, nor a request served as a response. `false` only to talk to a peer
   * that does not bind the direction (wireseal/http before this option). Both
   * sides must agree. Public-key profiles bind the direction themselves.
   */
  bindDirection?: boolean;
  /** `alg` for tokens this side seals: `A256KW` (default) or `dir`. */
  alg?: SymmetricAlg;
  /** Largest request body accepted, in bytes as sent (sealed). Default: the adapter's (1 MiB). */
  maxBodyBytes?: number;
  /** Whole mode freshness window. Default: the adapter's (120 s, 30 s skew). */
  freshness?: FreshnessOptions;
  /**
   * Whole mode: the profiles this route accepts and answers with, in order of
   * preference; each must be one of the adapter's (or client's) profiles.
   * Default: the adapter's profiles that are not `optIn` (public-key profiles
   * are opt-in: list them on the routes that accept them). The fetch client
   * seals requests with the first.
   */
  profiles?: readonly PayloadProfile[];
}

/** A validated route, ready for the codec. */
export interface CompiledRoute {
  readonly mode: SealMode;
  readonly required: boolean;
  readonly policy: FieldPolicy | undefined;
  readonly responsePolicy: FieldPolicy | undefined;
  /**
   * The route's keys as given: fields mode a keyring or one key source;
   * whole mode one shared key set or provider ({@link NO_SHARED_KEYS} when
   * it has none).
   */
  readonly keys: FieldKeys;
  /** Fields mode: the keys for the policy of each direction (a keyring cut to that policy's audiences). */
  readonly fieldKeys: Readonly<Record<Direction, FieldKeys>> | undefined;
  /** Fields mode: the paths each direction's body must hold ({@link RouteOptions.requireMatch}). */
  readonly requireMatch: Readonly<Record<Direction, boolean | readonly string[]>> | undefined;
  readonly context: ContextOption | undefined;
  readonly responseContext: ContextOption | undefined;
  /** Whether shared-key tokens bind the direction ({@link DIRECTION_CONTEXT_KEY}). */
  readonly bindDirection: boolean;
  readonly alg: SymmetricAlg;
  readonly maxBodyBytes: number;
  readonly maxAgeSeconds: number;
  readonly clockSkewSeconds: number;
  /** Whole mode: the profiles the route names, or undefined for the adapter's default. */
  readonly profiles: readonly PayloadProfile[] | undefined;
}

/** Defaults a route inherits from its adapter. */
export interface RouteDefaults {
  keys: FieldKeys | undefined;
  /** Default for {@link RouteOptions.bindDirection}; `true` when absent. */
  bindDirection?: boolean | undefined;
  maxBodyBytes: number;
  freshness: Required<FreshnessOptions>;
}

/** Default body limit: 1 MiB, as Fastify's. */
export const DEFAULT_MAX_BODY_BYTES = 1024 * 1024;
/** Default freshness window. */
export const DEFAULT_FRESHNESS: Readonly<Required<FreshnessOptions>> = Object.freeze({ maxAgeSeconds: 120, clockSkewSeconds: 30 });

function bad(why: string): never {
  throw new PolicyInvalidError(`wireseal route: ${why}`);
}

/** A `requireMatch` option checked against its policy: every name must be one of its paths. */
function required(option: boolean | readonly string[] | undefined, policy: FieldPolicy, name: string): boolean | readonly string[] {
  if (option === undefined || option === false) return false;
  if (option === true) return true;
  if (!Array.isArray(option)) bad(`${name} must be true, false or an array of policy paths`);
  const texts = policy.paths.map((p) => p.text);
  for (const p of option) if (!texts.includes(p)) bad(`${name} names ${JSON.stringify(p)}, which is not a path of the policy`);
  return Object.freeze([...option]);
}

/**
 * A fixed context is checked and frozen (a copy) once, at start-up: core
 * caches the digest of a frozen context, so requests do not hash it again,
 * and a caller changing its object later does not change the route.
 */
function toContext(option: ContextOption | undefined, name: string, bindDirection: boolean): ContextOption | undefined {
  if (option === undefined || typeof option === 'function') return option;
  if (option === null || typeof option !== 'object' || Array.isArray(option)) bad(`${name} must be an object of strings or a function of the request`);
  const entries = Object.entries(option);
  for (const [k, v] of entries) if (typeof v !== 'string') bad(`${name}.${k} must be a string (got ${typeof v})`);
  if (bindDirection && Object.hasOwn(option, DIRECTION_CONTEXT_KEY)) {
    bad(`${name} may not set "${DIRECTION_CONTEXT_KEY}": the direction is bound by bindDirection`);
  }
  return Object.freeze(Object.fromEntries(entries) as Record<string, string>);
}

/**
 * True for a keyring (a plain object of audience name → keys), false for one
 * key source: a key set of any kind (class instances) or a provider (it has
 * `current`).
 */
export function isKeyring(keys: FieldKeys): keys is Keyring {
  if (keys === null || typeof keys !== 'object' || typeof (keys as { current?: unknown }).current === 'function') return false;
  const proto = Object.getPrototypeOf(keys) as unknown;
  return proto === Object.prototype || proto === null;
}

/** Every key source in `keys` (one, or a keyring's), e.g. to await their `ready()`. */
export function keySources(keys: FieldKeys): unknown[] {
  return isKeyring(keys) ? Object.values(keys) : [keys];
}

/** The keys that serve `policy`: one key source (for a policy with one audience), or the keyring cut to the policy's audiences. */
function keysFor(keys: FieldKeys, policy: FieldPolicy, name: string): FieldKeys {
  if (!isKeyring(keys)) {
    if (policy.audiences.length !== 1) bad(`${name} has audiences ${policy.audiences.join(', ')}: keys must be a keyring ({ ${policy.audiences[0]}: keys, ... }), not one key set`);
    return keys;
  }
  return Object.freeze(Object.fromEntries(Object.entries(keys).filter(([audience]) => policy.audiences.includes(audience))));
}

/** The keys of each direction of a fields route. */
function fieldKeysOf(keys: FieldKeys, policy: FieldPolicy, responsePolicy: FieldPolicy): Readonly<Record<Direction, FieldKeys>> {
  if (isKeyring(keys)) {
    for (const [audience, source] of Object.entries(keys)) {
      if (source === null || typeof source !== 'object') bad(`keys.${audience.slice(0, 64)} must be a key set or a key provider`);
    }
  }
  const request = keysFor(keys, policy, 'policy');
  const response = responsePolicy === policy ? request : keysFor(keys, responsePolicy, 'responsePolicy');
  if (isKeyring(keys) && Object.keys(request).length === 0 && Object.keys(response).length === 0) {
    bad(`the keyring holds none of the policy's audiences (${[...new Set([...policy.audiences, ...responsePolicy.audiences])].join(', ')})`);
  }
  return Object.freeze({ request, response });
}

/** One shared key source (a `KeySet` or a provider), as whole mode seals with. */
function isSharedKeySource(keys: FieldKeys): keys is KeySource {
  return keys instanceof KeySet || typeof (keys as { current?: unknown }).current === 'function';
}

function toPolicy(p: PolicyOption): FieldPolicy {
  return p instanceof FieldPolicy ? p : FieldPolicy.parse(p as FieldPolicyJson | readonly string[]);
}

function nonNegative(n: unknown, name: string): number {
  if (typeof n !== 'number' || !Number.isFinite(n) || n < 0) bad(`${name} must be a non-negative number`);
  return n;
}

/**
 * Validates route options against their defaults.
 * @throws PolicyInvalidError (`ERR_POLICY_INVALID`) naming the bad option
 */
export function compileRoute(options: RouteOptions, defaults: RouteDefaults): CompiledRoute {
  if (options === null || typeof options !== 'object') bad('options must be an object');
  const { mode } = options;
  if (mode !== 'fields' && mode !== 'whole') bad(`mode must be "fields" or "whole" (got ${JSON.stringify(mode)})`);
  const encryption = options.encryption ?? 'required';
  if (encryption !== 'required' && encryption !== 'optional') bad(`encryption must be "required" or "optional"`);
  const alg = options.alg ?? 'A256KW';
  if (alg !== 'A256KW' && alg !== 'dir') bad('alg must be "A256KW" or "dir"');
  const bindDirection = options.bindDirection ?? defaults.bindDirection ?? true;
  if (typeof bindDirection !== 'boolean') bad('bindDirection must be true or false');
  let policy: FieldPolicy | undefined;
  let responsePolicy: FieldPolicy | undefined;
  if (mode === 'fields') {
    if (options.policy === undefined) bad('fields mode needs a policy');
    policy = toPolicy(options.policy);
    responsePolicy = options.responsePolicy === undefined ? policy : toPolicy(options.responsePolicy);
  } else if (options.policy !== undefined || options.responsePolicy !== undefined) {
    bad('a policy only applies to fields mode');
  }
  let requireMatch: Readonly<Record<Direction, boolean | readonly string[]>> | undefined;
  if (options.requireMatch !== undefined || options.responseRequireMatch !== undefined) {
    if (mode !== 'fields') bad('requireMatch only applies to fields mode');
    requireMatch = Object.freeze({
      request: required(options.requireMatch, policy!, 'requireMatch'),
      response: required(options.responseRequireMatch, responsePolicy!, 'responseRequireMatch'),
    });
  }
  let profiles: readonly PayloadProfile[] | undefined;
  if (options.profiles !== undefined) {
    if (mode !== 'whole') bad('profiles only apply to whole mode');
    if (!Array.isArray(options.profiles) || options.profiles.length === 0) bad('profiles must be a non-empty array of payload profiles');
    for (const p of options.profiles as readonly unknown[]) {
      const q = p as Partial<PayloadProfile> | null;
      if (q === null || typeof q !== 'object' || typeof q.mediaType !== 'string' || typeof q.open !== 'function' || typeof q.seal !== 'function') {
        bad('profiles must hold payload profiles ({ mediaType, open, seal })');
      }
    }
    profiles = Object.freeze([...options.profiles]);
  }
  const maxBodyBytes = options.maxBodyBytes === undefined ? defaults.maxBodyBytes : nonNegative(options.maxBodyBytes, 'maxBodyBytes');
  const f = { ...defaults.freshness, ...options.freshness };
  const given = options.keys ?? defaults.keys;
  let keys: FieldKeys = NO_SHARED_KEYS;
  let fieldKeys: Readonly<Record<Direction, FieldKeys>> | undefined;
  if (mode === 'fields') {
    if (given === undefined || given === null) bad('no keys: pass keys to the adapter or the route');
    keys = given;
    fieldKeys = fieldKeysOf(given, policy!, responsePolicy!);
  } else if (given !== undefined && given !== null) {
    // Whole mode seals the body with one shared key set. A route's own keyring is a
    // mistake; the adapter's (for its fields routes) leaves this route without shared
    // keys, which only profiles with keys of their own can do without (needsSharedKeys).
    if (isSharedKeySource(given)) keys = given;
    else if (options.keys !== undefined) bad('whole mode seals with one shared key set or key provider, not a keyring (keyrings are for fields routes)');
  }
  return Object.freeze({
    mode,
    required: encryption === 'required',
    policy,
    responsePolicy,
    keys,
    fieldKeys,
    requireMatch,
    context: toContext(options.context, 'context', bindDirection),
    responseContext: toContext(options.responseContext, 'responseContext', bindDirection),
    bindDirection,
    alg,
    maxBodyBytes,
    maxAgeSeconds: nonNegative(f.maxAgeSeconds, 'freshness.maxAgeSeconds'),
    clockSkewSeconds: nonNegative(f.clockSkewSeconds, 'freshness.clockSkewSeconds'),
    profiles,
  });
}

/**
 * The `keys` of a route configured without shared keys (only profiles that
 * carry their own keys need none); anything that asks it for keys gets
 * `ERR_KEY_SOURCE`. Codecs refuse such a route at start-up when one of its
 * profiles uses shared keys ({@link needsSharedKeys}).
 */
export const NO_SHARED_KEYS: KeyProvider = Object.freeze({
  ready: () => Promise.resolve(),
  current: (): never => {
    throw new KeySourceError('no shared key set is configured for this route: pass keys to the adapter or the route');
  },
  close: () => undefined,
});

/**
 * Validates that a whole-mode route without shared keys only uses profiles
 * that carry their own (`usesSharedKeys: false`).
 * @throws PolicyInvalidError naming the profile that needs keys
 */
export function needsSharedKeys(route: CompiledRoute, profiles: readonly PayloadProfile[]): void {
  if (route.keys !== NO_SHARED_KEYS) return;
  const needy = profiles.find((p) => p.usesSharedKeys !== false);
  if (needy) bad(`no keys: profile ${needy.name ?? needy.mediaType} seals with the shared key set; pass one key set or provider (not a keyring) to the adapter or the route`);
}

/** The context for a request, or undefined. */
export function resolveContext(option: ContextOption | undefined, head: RequestHead): Context | undefined {
  if (option === undefined) return undefined;
  return typeof option === 'function' ? (option as (r: RequestHead) => Context)(head) : option;
}

/**
 * The `wsc` context entry that binds a shared-key token to the direction it
 * travels in: value `request` (client to server) or `response` (server to
 * client). Added to the route's `context` / `responseContext` (or making up
 * the whole context when the route sets none) unless the route sets
 * `bindDirection: false`. Peers that seal or open tokens without this package
 * add the same entry, e.g. `encryptFields(keys, doc, policy, { context: { "wireseal-http": "request" } })`.
 */
export const DIRECTION_CONTEXT_KEY = 'wireseal-http';

/** Which way a message travels: client to server, or back. */
export type Direction = 'request' | 'response';

const DIRECTION_ONLY: Readonly<Record<Direction, Context>> = Object.freeze({
  request: Object.freeze({ [DIRECTION_CONTEXT_KEY]: 'request' }),
  response: Object.freeze({ [DIRECTION_CONTEXT_KEY]: 'response' }),
});
/** Fixed contexts with the direction entry added, frozen (so core caches their digest), per direction. */
const BOUND: Readonly<Record<Direction, WeakMap<object, Context>>> = { request: new WeakMap(), response: new WeakMap() };

/**
 * The `wsc` context of tokens travelling in `direction` on `route`: its
 * `context` (requests) or `responseContext` (responses), plus the
 * {@link DIRECTION_CONTEXT_KEY} entry unless the route opted out or the
 * profile binds the direction itself (`bindsDirection`). A context function
 * cannot remove or change the direction entry: the route's wins.
 */
export function contextFor(route: CompiledRoute, direction: Direction, head: RequestHead, profile?: PayloadProfile): Context | undefined {
  const option = direction === 'request' ? route.context : route.responseContext;
  if (!route.bindDirection || profile?.bindsDirection === true) return resolveContext(option, head);
  if (option === undefined) return DIRECTION_ONLY[direction];
  if (typeof option === 'function') {
    const given = (option as (r: RequestHead) => Context)(head);
    // Not an object: handed on as it is, for the core to refuse.
    if (given === null || typeof given !== 'object' || Array.isArray(given)) return given;
    return { ...given, [DIRECTION_CONTEXT_KEY]: direction };
  }
  const cache = BOUND[direction];
  let bound = cache.get(option);
  if (bound === undefined) cache.set(option, (bound = Object.freeze({ ...option, [DIRECTION_CONTEXT_KEY]: direction })));
  return bound;
}

/**
 * A route table: keys are `"METHOD /path"` (one method) or `"/path"` (every
 * method); paths match exactly, without the query string.
 */
export type RouteTable<T = RouteOptions> = Readonly<Record<string, T>>;

/** A compiled route table lookup. */
export type RouteMatcher<T> = (method: string, path: string) => T | undefined;

/**
 * Compiles a {@link RouteTable} into a lookup function.
 * @throws PolicyInvalidError for a key that is not `"METHOD /path"` or `"/path"`
 */
export function routeMatcher<T, U>(table: RouteTable<T>, compile: (value: T, key: string) => U): RouteMatcher<U> {
  const exact = new Map<string, U>();
  const anyMethod = new Map<string, U>();
  for (const [key, value] of Object.entries(table)) {
    const m = /^(?:([A-Za-z]+)\s+)?(\/\S*)$/.exec(key.trim());
    if (!m) bad(`route key ${JSON.stringify(key)} must be "METHOD /path" or "/path"`);
    const compiled = compile(value, key);
    if (m[1]) exact.set(`${m[1].toUpperCase()} ${m[2]}`, compiled);
    else anyMethod.set(m[2]!, compiled);
  }
  return (method, path) => exact.get(`${method.toUpperCase()} ${path}`) ?? anyMethod.get(path);
}
