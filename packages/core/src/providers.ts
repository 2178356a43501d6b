/**
 * Key providers for local development and simple deployments: a JWK Set from
 * an environment variable ({@link envKeyProvider}) or from a file that is
 * re-read when it changes ({@link fileKeyProvider}). No AWS needed.
 *
 * `node:fs` is loaded through `process.getBuiltinModule`, never a static
 * import, so this module still loads in browsers and edge runtimes (where
 * `fileKeyProvider` throws `ERR_KEY_SOURCE`).
 */
import type * as NodeFs from 'node:fs';
import { decode } from './base64url.ts';
import { KeySourceError, WiresealError } from './errors.ts';
import { KeySet } from './keyset.ts';
import type { KeyProvider } from './provider.ts';
import { nodeBuiltin } from './runtime.ts';

/** What a provider reports when it loads a key set: kids, never key bytes. */
export interface KeySetLoadInfo {
  /** Where the set came from: the file path or the environment variable's name. */
  source: string;
  /** The primary (sealing) key's id. */
  primaryKid: string;
  /** Every kid in the set, in set order. */
  kids: string[];
}

/** What a provider reports with an error: never key bytes or file content. */
export interface KeySourceErrorInfo {
  /** The file path or the environment variable's name. */
  source: string;
  /** Primary kid of the key set still in force, if any. */
  servingPrimaryKid?: string;
}

/** node:fs when the runtime has it (looked up on each call), else undefined. */
function loadFs(): typeof NodeFs | undefined {
  return nodeBuiltin<typeof NodeFs>('node:fs');
}

function loadInfo(source: string, keys: KeySet): KeySetLoadInfo {
  return { source, primaryKid: keys.primaryKid, kids: keys.list().map((k) => k.kid) };
}

/** Calls a user hook; a throwing hook must not break the provider (and we cannot log). */
function safeCall<A extends unknown[]>(hook: ((...args: A) => void) | undefined, ...args: A): void {
  if (!hook) return;
  try {
    hook(...args);
  } catch {
    /* a hook's failure is the hook's business */
  }
}

/** Turns any failure into a KeySourceError whose cause is safe to report (wireseal errors only). */
function sourceError(message: string, cause: unknown): KeySourceError {
  if (cause instanceof WiresealError) return new KeySourceError(`${message}: ${cause.message}`, { cause });
  return new KeySourceError(message);
}

/** Options for {@link envKeyProvider}. */
export interface EnvKeyProviderOptions {
  /** The environment variable holding the JWK Set. Default `WIRESEAL_KEYSET`. */
  name?: string;
  /** Where to read it. Default `process.env` (absent outside Node-like runtimes). */
  env?: Record<string, string | undefined>;
}

/** Parses the value of the key-set environment variable: JSON text, or base64url/base64 of it. */
function parseEnvValue(name: string, raw: string): KeySet {
  const text = raw.trim();
  if (text.startsWith('{')) {
    try {
      return KeySet.fromJwks(text);
    } catch (err) {
      throw sourceError(`environment variable ${name} does not hold a valid key set`, err);
    }
  }
  // base64url (or standard base64, padded or not) of the JSON text
  const bytes = decode(text.replace(/=+$/, '').replace(/\+/g, '-').replace(/\//g, '_'));
  if (!bytes) {
    throw new KeySourceError(`environment variable ${name} is neither JWK Set JSON nor base64url of it`);
  }
  try {
    return KeySet.fromJwks(bytes);
  } catch (err) {
    throw sourceError(`environment variable ${name} (base64url-decoded) does not hold a valid key set`, err);
  } finally {
    bytes.fill(0); // it held the key set's text, possibly in Node's shared Buffer pool
  }
}

/**
 * A provider over a JWK Set in an environment variable (default
 * `WIRESEAL_KEYSET`): JSON text, or base64url (or base64) of it. The variable
 * is read once, by `ready()`; the set never changes afterwards.
 *
 * `ready()` rejects with `ERR_KEY_SOURCE` (cause: `ERR_KEYSET_INVALID` when
 * the content is the problem) if the variable is missing or invalid;
 * `current()` throws `ERR_KEY_SOURCE` before `ready()` resolved and after
 * `close()`.
 *
 * @example
 * ```ts
 * // WIRESEAL_KEYSET='{"keys":[{"kty":"oct","kid":"dev","k":"...","key_ops":["encrypt","decrypt"]}]}'
 * const provider = envKeyProvider();
 * await provider.ready();
 * const token = seal(provider.current(), 'hello');
 * ```
 */
export function envKeyProvider(options: EnvKeyProviderOptions = {}): KeyProvider {
  const name = options.name ?? 'WIRESEAL_KEYSET';
  let keys: KeySet | undefined;
  let closed = false;
  return {
    ready(): Promise<void> {
      if (closed) return Promise.reject(new KeySourceError(`key provider for ${name} is closed`));
      if (keys) return Promise.resolve();
      try {
        const env = options.env ?? (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env;
        if (!env) throw new KeySourceError(`no environment in this runtime to read ${name} from; pass options.env`);
        const raw = env[name];
        if (raw === undefined || raw.trim() === '') throw new KeySourceError(`environment variable ${name} is not set`);
        keys = parseEnvValue(name, raw);
        return Promise.resolve();
      } catch (err) {
        return Promise.reject(err instanceof KeySourceError ? err : sourceError(`cannot read ${name}`, err));
      }
    },
    current(): KeySet {
      if (closed) throw new KeySourceError(`key provider for ${name} is closed`);
      if (!keys) throw new KeySourceError(`key provider for ${name} is not ready: await provider.ready() first`);
      return keys;
    },
    close(): void {
      closed = true;
      keys = undefined;
    },
  };
}

/** Options for {@link fileKeyProvider}. */
export interface FileKeyProviderOptions {
  /** Path of the JWK Set JSON file. */
  path: string | URL;
  /** How often the file's metadata is checked for a change, in ms. Default 1000. */
  intervalMs?: number;
  /**
   * Called when a change cannot be loaded (bad JSON, invalid key set, file
   * gone); the last good key set stays in force. Called once per failure, not
   * once per poll. Never receives key bytes or file content.
   */
  onError?: (err: WiresealError, info: KeySourceErrorInfo) => void;
  /** Called after a changed file was loaded and is in force. */
  onReload?: (info: KeySetLoadInfo) => void;
}

/** The extra surface of a file provider. */
export interface FileKeyProvider extends KeyProvider {
  /** Checks the file now instead of waiting for the next poll (after `ready()`); resolves when done, never rejects. */
  check(): Promise<void>;
}

/** A file's identity and version as far as polling can tell. */
function fingerprint(st: NodeFs.Stats): string {
  return `${st.ino}:${st.size}:${st.mtimeMs}:${st.ctimeMs}`;
}

/**
 * A provider over a JWK Set JSON file, re-read when it changes (metadata
 * polled every `intervalMs`, timer `unref()`'d). A rewrite that fails
 * validation, or a missing file, keeps the last good set in force and is
 * reported through `onError`; fix the file and the next poll picks it up.
 * Write the file atomically (write elsewhere, then rename) so readers never
 * see half a file.
 *
 * @throws KeySourceError when the runtime has no `node:fs` (browsers, edge)
 * @example
 * ```ts
 * const provider = fileKeyProvider({ path: './keyset.json', onError: (e) => metrics.count(e.code) });
 * await provider.ready();            // rejects with ERR_KEY_SOURCE if the file is missing or invalid
 * const token = seal(provider.current(), 'hello');
 * ```
 */
export function fileKeyProvider(options: FileKeyProviderOptions): FileKeyProvider {
  const fs = loadFs();
  if (!fs) throw new KeySourceError('fileKeyProvider needs node:fs, which this runtime does not have; use envKeyProvider or a KeySet');
  const filePath = options.path;
  const source = typeof filePath === 'string' ? filePath : filePath.pathname;
  const intervalMs = options.intervalMs ?? 1000;
  if (!(intervalMs > 0)) throw new KeySourceError(`fileKeyProvider: intervalMs must be > 0`);

  let keys: KeySet | undefined;
  let loadedPrint: string | undefined;
  let failedPrint: string | undefined;
  let closed = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let readyPromise: Promise<void> | undefined;
  let inFlight: Promise<void> | undefined;

  /** Reads and validates the file; throws KeySourceError. */
  async function load(): Promise<{ keys: KeySet; print: string }> {
    let st: NodeFs.Stats;
    let text: string;
    try {
      st = await fs!.promises.stat(filePath);
      text = await fs!.promises.readFile(filePath, 'utf8');
    } catch (err) {
      const code = (err as { code?: unknown }).code;
      throw new KeySourceError(`cannot read key set file ${source}${typeof code === 'string' ? ` (${code})` : ''}`);
    }
    try {
      return { keys: KeySet.fromJwks(text), print: fingerprint(st) };
    } catch (err) {
      throw sourceError(`key set file ${source} is not a valid key set`, err);
    }
  }

  function report(err: unknown, print: string): void {
    if (failedPrint === print) return; // already reported this state of the file
    failedPrint = print;
    const e = err instanceof WiresealError ? err : new KeySourceError(`key set file ${source}: unexpected failure`);
    safeCall(options.onError, e, { source, ...(keys ? { servingPrimaryKid: keys.primaryKid } : {}) });
  }

  async function poll(): Promise<void> {
    let print: string;
    try {
      print = fingerprint(await fs!.promises.stat(filePath));
    } catch (err) {
      const code = (err as { code?: unknown }).code;
      report(new KeySourceError(`cannot read key set file ${source}${typeof code === 'string' ? ` (${code})` : ''}`), `missing:${String(code)}`);
      return;
    }
    if (print === loadedPrint || print === failedPrint) return;
    try {
      const next = await load();
      if (closed) return;
      keys = next.keys;
      loadedPrint = next.print;
      failedPrint = undefined;
      safeCall(options.onReload, loadInfo(source, next.keys));
    } catch (err) {
      report(err, print);
    }
  }

  function check(): Promise<void> {
    if (closed || loadedPrint === undefined) return Promise.resolve(); // nothing to compare before ready()
    inFlight ??= poll().finally(() => {
      inFlight = undefined;
    });
    return inFlight;
  }

  function schedule(): void {
    if (closed) return;
    timer = setTimeout(() => {
      void check().finally(schedule);
    }, intervalMs);
    timer.unref?.();
  }

  return {
    ready(): Promise<void> {
      if (closed) return Promise.reject(new KeySourceError(`key provider for ${source} is closed`));
      readyPromise ??= load().then(
        (first) => {
          if (closed) throw new KeySourceError(`key provider for ${source} is closed`);
          keys = first.keys;
          loadedPrint = first.print;
          schedule();
        },
        (err: unknown) => {
          readyPromise = undefined; // a later ready() tries again
          throw err;
        },
      );
      return readyPromise;
    },
    current(): KeySet {
      if (closed) throw new KeySourceError(`key provider for ${source} is closed`);
      if (!keys) throw new KeySourceError(`key provider for ${source} is not ready: await provider.ready() first`);
      return keys;
    },
    check,
    close(): void {
      closed = true;
      if (timer) clearTimeout(timer);
      timer = undefined;
      keys = undefined;
    },
  };
}
