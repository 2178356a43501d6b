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
import type { KeySourceHealth } from './health.ts';
import { KeySet } from './keyset.ts';
import type { KeyProvider } from './provider.ts';
import { refreshingProvider } from './refreshing.ts';
import type { RefreshingLoadContext, RefreshingProvider, RefreshingStatus } from './refreshing.ts';
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

function loadInfo(source: string, keys: KeySet): KeySetLoadInfo {
  return { source, primaryKid: keys.primaryKid, kids: keys.list().map((k) => k.kid) };
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
export function envKeyProvider(options: EnvKeyProviderOptions = {}): KeyProvider & Pick<RefreshingProvider<KeySet>, 'status' | 'health'> {
  const name = options.name ?? 'WIRESEAL_KEYSET';
  const provider = refreshingProvider<KeySet>({
    source: name,
    // read once, by ready(): no background refresh
    load: async () => {
      const env = options.env ?? (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env;
      if (!env) throw new KeySourceError(`no environment in this runtime to read ${name} from; pass options.env`);
      const raw = env[name];
      if (raw === undefined || raw.trim() === '') throw new KeySourceError(`environment variable ${name} is not set`);
      return parseEnvValue(name, raw);
    },
  });
  return { ready: provider.ready, current: provider.current, status: provider.status, health: provider.health, close: () => void provider.close() };
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
  /** State snapshot (last successful load, failures, the key set in force), for health checks and `observeKeySource` of `@wireseal/aws-secrets`; no I/O. */
  status(): RefreshingStatus<KeySet>;
  /** Health (`state`, `ready`, `stale`, last success and failure), for `/readyz` endpoints; no I/O, never key bytes. */
  health(): KeySourceHealth;
}

/** A loaded key set file: the set and the metadata it was read with. */
interface LoadedFile {
  keys: KeySet;
  print: string;
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
  const fs = nodeBuiltin<typeof NodeFs>('node:fs');
  if (!fs) throw new KeySourceError('fileKeyProvider needs node:fs, which this runtime does not have; use envKeyProvider or a KeySet');
  const filePath = options.path;
  const source = typeof filePath === 'string' ? filePath : filePath.pathname;
  const intervalMs = options.intervalMs ?? 1000;
  if (!(intervalMs > 0)) throw new KeySourceError(`fileKeyProvider: intervalMs must be > 0`);

  /** The file's last state that failed to load: not read again, nor reported again, until the file changes. */
  let failed: { print: string; error: KeySourceError } | undefined;

  /** Reads and validates the file; throws KeySourceError. */
  async function read(): Promise<LoadedFile> {
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

  /** ready(): reads the file. A poll: reads it again only when its metadata changed. */
  async function load({ previous }: RefreshingLoadContext<LoadedFile>): Promise<LoadedFile> {
    if (!previous) return read();
    const print = await fs!.promises.stat(filePath).then(fingerprint, (err: { code?: unknown }) => `missing:${String(err?.code)}`);
    if (print === previous.print) return previous;
    if (print === failed?.print) throw failed.error;
    try {
      return await read();
    } catch (err) {
      failed = { print, error: err as KeySourceError };
      throw err;
    }
  }

  let reported: KeySourceError | undefined;
  const provider = refreshingProvider<LoadedFile>({
    source,
    load,
    intervalMs,
    onLoad: (next, previous) => {
      failed = undefined;
      if (previous && next !== previous) return options.onReload?.(loadInfo(source, next.keys));
    },
    onError: (err, { value }) => {
      if (!value || err === reported) return; // ready() rejects instead; each state of the file is reported once
      reported = err;
      return options.onError?.(err, { source, servingPrimaryKid: value.keys.primaryKid });
    },
  });

  return {
    ready: provider.ready,
    current: () => provider.current().keys,
    check(): Promise<void> {
      const { closed, value } = provider.status();
      if (closed || !value) return Promise.resolve(); // nothing to compare before ready()
      return provider.refresh().catch(() => undefined);
    },
    status(): RefreshingStatus<KeySet> {
      const s = provider.status();
      return { ...s, value: s.value?.keys };
    },
    health: provider.health,
    close: () => void provider.close(),
  };
}
