/**
 * Synchronous access to Node's built-in crypto without a static import, so
 * the same module loads in browsers and edge runtimes (where it is absent).
 * `process.getBuiltinModule` exists on Node 20.16+, 22.3+, Deno and Bun.
 */
import type * as NodeCrypto from 'node:crypto';

type BuiltinLoader = { getBuiltinModule?: (id: string) => unknown };

/** A Node built-in module when the runtime has it (Node 20.16+, Deno, Bun), else undefined. */
export function nodeBuiltin<T>(id: string): T | undefined {
  const proc = (globalThis as { process?: BuiltinLoader }).process;
  if (typeof proc?.getBuiltinModule !== 'function') return undefined;
  try {
    return (proc.getBuiltinModule(id) as T | undefined) ?? undefined;
  } catch {
    return undefined;
  }
}

/** node:crypto when the runtime has it, else undefined. */
export const nodeCrypto: typeof NodeCrypto | undefined = nodeBuiltin<typeof NodeCrypto>('node:crypto');

type BufferCtor = {
  from(data: string, enc: string): Uint8Array;
  from(data: ArrayBufferLike, offset: number, length: number): Uint8Array & { toString(enc: string): string };
  allocUnsafeSlow(size: number): Uint8Array;
};

/** Node's Buffer when present (fast base64url), else undefined. */
export const NodeBuffer: BufferCtor | undefined = (globalThis as { Buffer?: BufferCtor }).Buffer;
