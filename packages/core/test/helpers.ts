import { expect } from 'vitest';
import { WiresealError } from '@wireseal/core/errors';
import { caught as caughtError } from '@wireseal-tooling/vitest-config/errors';

/** Runs `fn` and returns the WiresealError code it throws; fails if it returns or throws anything else. */
export function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(WiresealError);
    return (err as WiresealError).code;
  }
  throw new Error('expected a WiresealError, but the call returned');
}

export const te = new TextEncoder();
export const td = new TextDecoder();

/** A fixed key set: primary "k-new" and decrypt-only "k-old". */
export const FIXED_JWKS = {
  keys: [
    { kty: 'oct', kid: 'k-new', k: 'AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8', key_ops: ['encrypt', 'decrypt'] },
    { kty: 'oct', kid: 'k-old', k: 'ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8', key_ops: ['decrypt'] },
  ],
} as const;

/** Rejects (or throws) with a WiresealError: returns it for code assertions. */
export const caught = (fn: () => unknown): Promise<WiresealError> => caughtError<WiresealError>(fn);
