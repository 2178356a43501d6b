/**
 * `application/jose` with the shared key set: the body is one JWE compact
 * token (A256KW or dir, A256GCM) whose protected header carries `cty` (the
 * plaintext's media type) and `iat`. Any JOSE library can produce it.
 */
import { currentKeys, openToken, seal } from '@wireseal/core';
import { TokenMalformedError } from '@wireseal/core/errors';
import { mediaTypeFromCty } from '../media/media.ts';
import type { OpenedPayload, PayloadProfile, ProfileContext, SealedPayload } from './types.ts';

/** The media type of JWE compact bodies (RFC 7516 §9). */
export const JOSE_TYPE = 'application/jose';

// Tokens are ASCII; anything else decodes to characters base64url rejects.
const decoder = new TextDecoder('utf-8');

/** The token text of a body: decoded as UTF-8, surrounding whitespace trimmed. */
export function tokenText(body: Uint8Array | string): string {
  const text = typeof body === 'string' ? body : decoder.decode(body);
  // Tolerate surrounding whitespace (a trailing newline from curl or a file).
  return text.trim();
}

/**
 * The shared-key JWE profile (`application/jose`).
 * @example
 * const codec = new HttpCodec({ keys, profiles: [sharedKeyJose()] }); // the default
 */
export function sharedKeyJose(): PayloadProfile {
  return {
    mediaType: JOSE_TYPE,
    bodyAs: 'text',
    open(body: Uint8Array | string, ctx: ProfileContext): OpenedPayload {
      const token = tokenText(body);
      const opened = openToken(currentKeys(ctx.keys), token, ctx.context ? { context: ctx.context } : {});
      const { cty, iat } = opened.header;
      let contentType: string | undefined;
      if (cty !== undefined) {
        contentType = mediaTypeFromCty(cty);
        if (contentType === undefined) throw new TokenMalformedError('token cty is not a valid media type');
      }
      const result: OpenedPayload = { plaintext: opened.plaintext, replayId: token.slice(token.lastIndexOf('.') + 1) };
      if (contentType !== undefined) result.contentType = contentType;
      if (iat !== undefined) result.iat = iat;
      if (typeof opened.header.kid === 'string') result.kid = opened.header.kid;
      return result;
    },
    seal(plaintext: Uint8Array, contentType: string, ctx: ProfileContext): SealedPayload {
      const keys = currentKeys(ctx.keys);
      const token = seal(keys, plaintext, {
        alg: ctx.alg,
        ...(ctx.reuseContentKey !== undefined ? { reuseContentKey: ctx.reuseContentKey } : {}),
        cty: contentType,
        iat: Math.floor(ctx.now / 1000),
        ...(ctx.context ? { context: ctx.context } : {}),
      });
      return { body: token, kid: keys.primaryKid };
    },
  };
}
