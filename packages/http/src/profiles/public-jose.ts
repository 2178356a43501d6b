/**
 * `application/jose` encrypted to a public key: JWE compact tokens with `alg`
 * `RSA-OAEP-256` (RSA 2048–8192) or `ECDH-ES+A256KW` (P-256, X25519), `enc`
 * `A256GCM`, `kid`, `iat` and `cty`, done with `jose`.
 *
 * - Requests are encrypted to one of the server's key pairs (`kid`) and name
 *   the registered client key for the response in the protected header
 *   member `wsr` (so it is authenticated with the request: nobody on the path
 *   can redirect the response to another key).
 * - Responses are encrypted to that client key (`kid` = the client key id).
 *
 * The client key id is not authentication: anyone with the server's public
 * key can seal a request naming any registered client. What it guarantees is
 * that only the holder of that client's private key can read the response.
 * Hence the profile is opt-in per route (`optIn`).
 */
import { CompactEncrypt, compactDecrypt, errors as joseErrors } from 'jose';
import type { CompactJWEHeaderParameters } from 'jose';
import { contextDigest, decodeProtectedHeader, DEFAULT_LIMITS } from '@wireseal/core';
import type { Context, ProtectedHeader } from '@wireseal/core';
import {
  AlgUnsupportedError,
  ContextMismatchError,
  DecryptError,
  FieldMismatchError,
  KeyUnknownError,
  TokenMalformedError,
  WiresealError,
} from '@wireseal/core/errors';
import { headerValue, mediaTypeFromCty, printable } from '../media/media.ts';
import { KID_RE } from '../keys/jwk.ts';
import type { PublicJweAlg, AsymmetricEntry } from '../keys/jwk.ts';
import type { PrivateKeySet, PublicKeySet } from '../keys/keysets.ts';
import type { AsymmetricKeySource } from '../keys/provider.ts';
import { currentSet } from '../keys/provider.ts';
import { JOSE_TYPE, tokenText } from './shared-jose.ts';
import type { OpenedPayload, PayloadProfile, ProfileContext, SealedPayload } from './types.ts';
import { safeCall } from '@wireseal/core/internal';

/** Request header naming the registered client key a response is sealed to, on requests without a sealed body. */
export const WIRESEAL_CLIENT_HEADER = 'wireseal-client';

const ALL_ALGS: readonly PublicJweAlg[] = ['RSA-OAEP-256', 'ECDH-ES+A256KW'];
const B64U_RE = /^[A-Za-z0-9_-]*$/;
const decoder = new TextDecoder('utf-8');

/** What the server profile reports for each request it opened (metrics, rotation progress). */
export interface PublicJoseOpenInfo {
  /** The server key that decrypted it. */
  readonly kid: string;
  /** The registered client key the response goes to. */
  readonly client: string;
  /** The key management algorithm. */
  readonly alg: PublicJweAlg;
}

/** Options for {@link publicKeyJose} (servers). */
export interface PublicKeyJoseOptions {
  /** The server's key pairs: requests are decrypted with the one their `kid` names. A set or a provider. */
  keys: AsymmetricKeySource<PrivateKeySet>;
  /** The registry of client public keys (`kid` = client key id). A set or a provider. */
  clients: AsymmetricKeySource<PublicKeySet>;
  /** Key management algorithms accepted in requests. Default both: `RSA-OAEP-256`, `ECDH-ES+A256KW`. */
  algorithms?: readonly PublicJweAlg[];
  /** Called after each request opened (never with key material or plaintext); a throwing hook is ignored. */
  onOpen?: (info: PublicJoseOpenInfo) => void;
}

/** Options for {@link publicKeyJoseClient}. */
export interface PublicKeyJoseClientOptions {
  /** This client's key pair(s); responses are decrypted with the one their `kid` names. */
  keys: AsymmetricKeySource<PrivateKeySet>;
  /** The server's published public keys. */
  server: AsymmetricKeySource<PublicKeySet>;
  /** Which of this client's keys the server seals responses to (its registered kid). Default: the first key in `keys`. */
  clientKid?: string;
  /** Which server key requests are encrypted to. Default: the first key in `server` usable with `alg`. */
  serverKid?: string;
  /** Key management algorithm for requests. Default: `RSA-OAEP-256` for an RSA server key, else `ECDH-ES+A256KW`. */
  alg?: PublicJweAlg;
}

interface JoseState {
  readonly client: string;
}

function peekAlg(body: Uint8Array | string): string | undefined {
  const text = typeof body === 'string' ? body.slice(0, 2048) : decoder.decode(body.subarray(0, 2048));
  const trimmed = text.trim();
  const dot = trimmed.indexOf('.');
  if (dot <= 0) return undefined;
  try {
    const alg = (JSON.parse(Buffer.from(trimmed.slice(0, dot), 'base64url').toString('utf8')) as { alg?: unknown }).alg;
    return typeof alg === 'string' ? alg : undefined;
  } catch {
    return undefined;
  }
}

/** The algorithm a recipient key is sealed to. */
function sealAlgFor(entry: AsymmetricEntry, wanted?: PublicJweAlg): PublicJweAlg | undefined {
  const algs = entry.info.algs.filter((a): a is PublicJweAlg => a === 'RSA-OAEP-256' || a === 'ECDH-ES+A256KW');
  if (wanted) return algs.includes(wanted) ? wanted : undefined;
  return algs[0];
}

const B64U_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

/**
 * Checks a segment is canonical unpadded base64url without decoding it (the
 * ciphertext may be large): the alphabet, a length that is not 1 mod 4, and
 * zero unused bits in the last character. jose's decoder accepts a last
 * character with unused bits set, so two texts would open to one token.
 */
function canonical(text: string, name: string): void {
  const tail = text.length % 4;
  const last = B64U_ALPHABET.indexOf(text[text.length - 1] ?? 'A');
  if (!B64U_RE.test(text) || tail === 1 || (tail === 2 && (last & 15) !== 0) || (tail === 3 && (last & 3) !== 0)) {
    throw new TokenMalformedError(`token ${name} segment is not valid unpadded base64url`);
  }
}

/** Decodes one base64url segment strictly (canonical, no padding). */
function segment(text: string, name: string): Buffer {
  const bytes = B64U_RE.test(text) && text.length % 4 !== 1 ? Buffer.from(text, 'base64url') : undefined;
  if (!bytes || bytes.toString('base64url') !== text) throw new TokenMalformedError(`token ${name} segment is not valid unpadded base64url`);
  return bytes;
}

interface Checked {
  header: ProtectedHeader;
  alg: PublicJweAlg;
  key: AsymmetricEntry;
  tag: string;
}

/** Everything that can be checked before decrypting: shape, allow-lists, key ids. */
function precheck(token: string, own: PrivateKeySet, allowed: readonly PublicJweAlg[]): Checked {
  if (token.length > DEFAULT_LIMITS.maxTokenLength) throw new TokenMalformedError(`token is over the limit of ${DEFAULT_LIMITS.maxTokenLength} characters`);
  const parts = token.split('.');
  if (parts.length !== 5) throw new TokenMalformedError(`token has ${parts.length} segments; a JWE compact token has 5`);
  const header = decodeProtectedHeader(token);
  if (header.crit !== undefined) throw new AlgUnsupportedError('token header has "crit": no critical extensions are supported');
  if (header.zip !== undefined) throw new AlgUnsupportedError('token header has "zip": compression is not supported');
  if (typeof header.alg !== 'string' || !(allowed as readonly string[]).includes(header.alg)) {
    throw new AlgUnsupportedError(`token alg ${JSON.stringify(printable(String(header.alg ?? null), 40))} is not allowed (allowed: ${allowed.join(', ')})`);
  }
  const alg = header.alg as PublicJweAlg;
  if (header.enc !== 'A256GCM') throw new AlgUnsupportedError(`token enc ${JSON.stringify(printable(String(header.enc ?? null), 40))} is not allowed (allowed: A256GCM)`);
  if (typeof header.kid !== 'string') throw new KeyUnknownError('token header has no kid');
  const key = own.entry(header.kid);
  if (!key || !key.privateKey) throw new KeyUnknownError('token kid is not one of the keys this side decrypts with');
  if (!key.info.algs.includes(alg)) throw new KeyUnknownError(`token kid names a key that is not for ${alg}`);
  const [, ek, iv, ciphertext, tag] = parts as [string, string, string, string, string];
  canonical(ciphertext, 'ciphertext');
  const ekBytes = segment(ek, 'encrypted key');
  const expectedEk = alg === 'RSA-OAEP-256' ? Math.ceil((key.info.bits ?? 0) / 8) : 40;
  if (ekBytes.length !== expectedEk) throw new TokenMalformedError(`token encrypted key is ${ekBytes.length} bytes; ${alg} with this key needs ${expectedEk}`);
  if (segment(iv, 'iv').length !== 12) throw new TokenMalformedError('token iv must be 12 bytes for A256GCM');
  if (segment(tag, 'tag').length !== 16) throw new TokenMalformedError('token tag must be 16 bytes for A256GCM');
  if (alg === 'ECDH-ES+A256KW') {
    const epk = header.epk as { kty?: unknown; crv?: unknown } | undefined;
    const crv = key.info.crv;
    if (epk === null || typeof epk !== 'object' || epk.crv !== crv || epk.kty !== (crv === 'X25519' ? 'OKP' : 'EC')) {
      throw new TokenMalformedError(`token epk must be an ephemeral ${crv} public key`);
    }
  } else if (header.epk !== undefined) {
    throw new TokenMalformedError('token has an epk but its alg is RSA-OAEP-256');
  }
  return { header, alg, key, tag };
}

/** Decrypts with jose and maps its errors to wireseal codes. */
async function decrypt(token: string, checked: Checked): Promise<Uint8Array> {
  try {
    const { plaintext } = await compactDecrypt(token, checked.key.privateKey!, {
      keyManagementAlgorithms: [checked.alg],
      contentEncryptionAlgorithms: ['A256GCM'],
    });
    return plaintext;
  } catch (err) {
    if (err instanceof WiresealError) throw err;
    if (err instanceof joseErrors.JOSEAlgNotAllowed || err instanceof joseErrors.JOSENotSupported) {
      throw new AlgUnsupportedError('token uses an algorithm or header parameter that is not supported');
    }
    if (err instanceof joseErrors.JWEInvalid) throw new TokenMalformedError('token is not a valid JWE for its algorithm (header parameters)');
    throw new DecryptError('token did not decrypt: wrong key or tampered token');
  }
}

/** Checks the authenticated header's wireseal claims and builds the opened payload. */
function finish(header: ProtectedHeader, plaintext: Uint8Array, context: Context | undefined, tag: string): OpenedPayload {
  if (header.wsf !== undefined) throw new FieldMismatchError('a field token is not a whole payload');
  const expected = context === undefined ? undefined : contextDigest(context);
  if (header.wsc !== expected) {
    throw new ContextMismatchError(expected === undefined ? 'token is bound to a context this route does not expect' : 'token is not bound to this route\'s context');
  }
  const result: OpenedPayload = { plaintext, replayId: tag };
  if (header.cty !== undefined) {
    const contentType = mediaTypeFromCty(header.cty);
    if (contentType === undefined) throw new TokenMalformedError('token cty is not a valid media type');
    result.contentType = contentType;
  }
  if (header.iat !== undefined) result.iat = header.iat;
  if (typeof header.kid === 'string') result.kid = header.kid;
  return result;
}

async function encrypt(plaintext: Uint8Array, to: AsymmetricEntry, alg: PublicJweAlg, contentType: string, ctx: ProfileContext, extra?: Record<string, string>): Promise<string> {
  const cty = mediaTypeFromCty(contentType) ?? 'application/octet-stream';
  const header: CompactJWEHeaderParameters = { alg, enc: 'A256GCM', kid: to.kid, cty, iat: Math.floor(ctx.now / 1000), ...extra };
  if (ctx.context) header.wsc = contextDigest(ctx.context);
  try {
    return await new CompactEncrypt(plaintext).setProtectedHeader(header).encrypt(to.publicKey);
  } catch (err) {
    throw new AlgUnsupportedError(`cannot encrypt to key ${JSON.stringify(to.kid)} with ${alg}`, { cause: err });
  }
}

/** True for a header `alg` that belongs to public-key JWE (so this profile, not the shared-key one, answers for it). */
function isAsymmetricAlg(alg: string | undefined): boolean {
  return alg !== undefined && /^(RSA|ECDH|PBES2)/.test(alg);
}

/** What the server and client public-key JWE profiles share: media type, name, body form, opt-in, and claiming tokens by their alg. */
const PUBLIC_JOSE_PROFILE = {
  mediaType: JOSE_TYPE,
  name: 'jose-public',
  bodyAs: 'text',
  optIn: true,
  usesSharedKeys: false,
  // Requests go to the server's key pair and name `wsr`; responses go to the client's and never do.
  bindsDirection: true,
  claims: (body: Uint8Array | string): boolean => isAsymmetricAlg(peekAlg(body)),
} as const;

/**
 * The server side of public-key JWE (`application/jose`). Add it to the
 * adapter's `profiles` and list it on the routes that accept it.
 * @example
 * const pub = publicKeyJose({ keys: serverKeys, clients: clientRegistry });
 * await app.register(wiresealFastify, { keys: sharedKeys, profiles: [sharedKeyJose(), pub] });
 * app.post('/partner/orders', { config: { wireseal: { mode: 'whole', profiles: [pub] } } }, handler);
 */
export function publicKeyJose(options: PublicKeyJoseOptions): PayloadProfile {
  const allowed = [...(options.algorithms ?? ALL_ALGS)];
  if (allowed.length === 0 || allowed.some((a) => !ALL_ALGS.includes(a))) {
    throw new AlgUnsupportedError(`publicKeyJose: algorithms must be a non-empty subset of ${ALL_ALGS.join(', ')}`);
  }
  return {
    ...PUBLIC_JOSE_PROFILE,
    async open(body: Uint8Array | string, ctx: ProfileContext): Promise<OpenedPayload> {
      const token = tokenText(body);
      const checked = precheck(token, currentSet(options.keys), allowed);
      const client = checked.header.wsr;
      if (typeof client !== 'string' || !KID_RE.test(client)) {
        throw new KeyUnknownError('token header has no "wsr" naming the registered client key to seal the response to');
      }
      const clientKey = currentSet(options.clients).entry(client);
      if (!clientKey || !sealAlgFor(clientKey)) throw new KeyUnknownError('token "wsr" is not a registered client key for JWE responses');
      const plaintext = await decrypt(token, checked);
      const opened = finish(checked.header, plaintext, ctx.context, checked.tag);
      opened.state = { client } satisfies JoseState;
      safeCall(options.onOpen, { kid: checked.key.kid, client, alg: checked.alg });
      return opened;
    },
    async seal(plaintext: Uint8Array, contentType: string, ctx: ProfileContext): Promise<SealedPayload> {
      const client = (ctx.state as JoseState | undefined)?.client ?? headerValue(ctx.head.headers, WIRESEAL_CLIENT_HEADER)?.trim();
      if (client === undefined || client === '') {
        throw new KeyUnknownError(`no registered client key to seal the response to: send a sealed request or the ${WIRESEAL_CLIENT_HEADER} header`);
      }
      const key = currentSet(options.clients).entry(client);
      const alg = key ? sealAlgFor(key) : undefined;
      if (!key || !alg) throw new KeyUnknownError(`the ${WIRESEAL_CLIENT_HEADER} header does not name a registered client key for JWE responses`);
      return { body: await encrypt(plaintext, key, alg, contentType, ctx), kid: key.kid };
    },
  };
}

/**
 * The client side of public-key JWE, for `createFetch`: requests are
 * encrypted to the server's key and name this client's key (`wsr`);
 * responses are decrypted with this client's key.
 * @example
 * const sfetch = createFetch({ keys: unusedSharedKeys, mode: 'whole', profiles: [publicKeyJoseClient({ keys: myKeys, server: serverPublicKeys })] });
 */
export function publicKeyJoseClient(options: PublicKeyJoseClientOptions): PayloadProfile {
  const pick = (): { to: AsymmetricEntry; alg: PublicJweAlg; clientKid: string } => {
    const server = currentSet(options.server);
    const own = currentSet(options.keys);
    const clientKid = options.clientKid ?? own.kids[0]!;
    if (!own.has(clientKid)) throw new KeyUnknownError(`clientKid ${JSON.stringify(clientKid)} is not one of this client's keys`);
    const candidates = options.serverKid === undefined ? server.kids.map((k) => server.entry(k)!) : [server.entry(options.serverKid)].filter((e) => e !== undefined);
    for (const to of candidates) {
      const alg = sealAlgFor(to, options.alg);
      if (alg) return { to, alg, clientKid };
    }
    throw new KeyUnknownError(`no server key${options.serverKid === undefined ? '' : ` "${options.serverKid}"`} usable with ${options.alg ?? 'RSA-OAEP-256 or ECDH-ES+A256KW'}`);
  };
  return {
    ...PUBLIC_JOSE_PROFILE,
    async open(body: Uint8Array | string, ctx: ProfileContext): Promise<OpenedPayload> {
      const token = tokenText(body);
      const checked = precheck(token, currentSet(options.keys), ALL_ALGS);
      // A request names the key for its answer; an answer never does. So a request
      // token (say, to a key pair this client shares with the server) is not an answer.
      if (checked.header.wsr !== undefined) throw new ContextMismatchError('token is a request (it names "wsr"), not a response');
      const plaintext = await decrypt(token, checked);
      return finish(checked.header, plaintext, ctx.context, checked.tag);
    },
    async seal(plaintext: Uint8Array, contentType: string, ctx: ProfileContext): Promise<SealedPayload> {
      const { to, alg, clientKid } = pick();
      return { body: await encrypt(plaintext, to, alg, contentType, ctx, { wsr: clientKid }), kid: to.kid };
    },
    announce: () => ({ [WIRESEAL_CLIENT_HEADER]: options.clientKid ?? currentSet(options.keys).kids[0]! }),
  };
}
