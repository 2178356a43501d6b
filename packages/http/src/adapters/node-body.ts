/**
 * Reads a request body from a Node `IncomingMessage` with a byte limit
 * enforced while reading, before anything is parsed or decrypted.
 */
import type { IncomingMessage } from 'node:http';
import { LimitExceededError, TokenMalformedError } from '@wireseal/core/errors';

/**
 * Reads the whole body.
 * @throws LimitExceededError (`ERR_LIMIT_EXCEEDED`) as soon as more than `limit` bytes arrived
 * @throws TokenMalformedError when the stream fails or ends early
 */
export function readBody(req: IncomingMessage, limit: number): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    const chunks: Uint8Array[] = [];
    let size = 0;
    let settled = false;
    const cleanup = (): void => {
      req.removeListener('data', onData);
      req.removeListener('end', onEnd);
      req.removeListener('error', onError);
      req.removeListener('close', onClose);
    };
    const fail = (err: Error): void => {
      if (settled) return;
      settled = true;
      cleanup();
      reject(err);
    };
    function onData(chunk: Uint8Array | string): void {
      const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
      size += bytes.length;
      if (size > limit) {
        fail(new LimitExceededError(`request body is over the limit of ${limit} bytes`));
        return;
      }
      chunks.push(bytes);
    }
    function onEnd(): void {
      if (settled) return;
      settled = true;
      cleanup();
      resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size));
    }
    function onError(err: Error): void {
      fail(new TokenMalformedError('request body could not be read', { cause: err }));
    }
    function onClose(): void {
      if (!req.complete) fail(new TokenMalformedError('request body ended before its declared length'));
    }
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
    req.on('close', onClose);
  });
}
