/**
 * Key-source health: one small, JSON-safe object that every wireseal key
 * provider reports the same way (file, environment, JWKS, AWS Secrets
 * Manager, a keyring of them), for `/readyz` endpoints, logs and dashboards.
 * It is derived from a refreshing provider's `status()`; it never holds key
 * bytes or secret content, only states, times, counts, codes and the source's
 * name.
 */
import { PrivateKeySet, PublicKeySet } from './asymmetric/keysets.ts';
import { WiresealError } from './errors.ts';
import type { KeySourceError } from './errors.ts';
import { KeySet } from './keyset.ts';

/**
 * Where a key source stands, from best to worst:
 * - `ready`: loaded, not stale, the last load succeeded;
 * - `starting`: nothing loaded yet and no load has failed (the first is pending or not begun);
 * - `failing`: the last load failed: with a key set still in force (`ready: true`,
 *   serving the last good set until `maxStaleMs`) or with none (`ready: false`, never loaded);
 * - `stale`: loaded, but the last success is older than `maxStaleMs`: `current()` throws;
 * - `closed`: `close()` was called.
 */
export type KeySourceState = 'ready' | 'starting' | 'failing' | 'stale' | 'closed';

/** A key source's health snapshot; no I/O, never key bytes. Safe to serialize and serve. */
export interface KeySourceHealth {
  /** The source's state (see {@link KeySourceState}). */
  state: KeySourceState;
  /** `current()` returns a key set now (loaded, not stale, not closed): the source is usable. */
  ready: boolean;
  /** Loaded, but past `maxStaleMs` since the last successful load (`current()` throws `ERR_KEY_SOURCE`). */
  stale: boolean;
  /** Names the source: a file path, an environment variable's name, a secret id, a label; never a secret. */
  source: string;
  /** When the last load succeeded (ms, by the provider's clock), if one did. */
  lastSuccessAt?: number;
  /** Failed loads since the last success. */
  consecutiveFailures: number;
  /**
   * Code of the last failure since the last success: the most specific
   * wireseal code in its cause chain (`ERR_KEYSET_INVALID` when the content
   * was the problem, else `ERR_KEY_SOURCE`).
   */
  lastErrorCode?: string;
  /** The last failure's message (written to be safe to report: no key bytes, no secret content). */
  lastErrorMessage?: string;
  /** Ms until `current()` starts throwing (≤ 0: it does). Absent before the first load and without `maxStaleMs`. */
  usableForMs?: number;
}

/** The health of several key sources as one: ready only when every one is. */
export interface CombinedKeySourceHealth extends KeySourceHealth {
  /** Each source's health, by name (an audience, a role such as `keys`). */
  sources: Record<string, KeySourceHealth>;
  /** The names of the sources that are not ready, in `sources` order. */
  unready: string[];
}

/** What {@link healthFromStatus} reads: a subset of `RefreshingStatus`. */
export interface HealthStatusInput {
  value: unknown;
  closed: boolean;
  usable: boolean;
  lastSuccessAt: number | undefined;
  consecutiveFailures: number;
  lastError: KeySourceError | WiresealError | undefined;
  usableForMs: number | undefined;
}

/** The most specific wireseal code along an error's cause chain. */
function codeOf(err: WiresealError): string {
  let code: string = err.code;
  let cause: unknown = err.cause;
  for (let depth = 0; cause instanceof WiresealError && depth < 8; depth++) {
    code = cause.code;
    cause = cause.cause;
  }
  return code;
}

/**
 * A key source's health from a refreshing provider's status (for the wireseal
 * packages and providers of your own; `refreshingProvider().health()` calls it).
 */
export function healthFromStatus(source: string, status: HealthStatusInput): KeySourceHealth {
  const { closed, usable, lastSuccessAt, consecutiveFailures, lastError, usableForMs } = status;
  const loaded = status.value !== undefined && lastSuccessAt !== undefined;
  const stale = !closed && loaded && usableForMs !== undefined && usableForMs < 0;
  const state: KeySourceState = closed ? 'closed' : stale ? 'stale' : consecutiveFailures > 0 ? 'failing' : loaded ? 'ready' : 'starting';
  return {
    state,
    ready: usable,
    stale,
    source,
    ...(lastSuccessAt !== undefined ? { lastSuccessAt } : {}),
    consecutiveFailures,
    ...(lastError ? { lastErrorCode: codeOf(lastError), lastErrorMessage: lastError.message } : {}),
    ...(!closed && usableForMs !== undefined && Number.isFinite(usableForMs) ? { usableForMs } : {}),
  };
}

const RANK: Record<KeySourceState, number> = { ready: 0, starting: 1, failing: 2, stale: 3, closed: 4 };

/**
 * Several sources' health as one (a keyring's audiences, a service's key
 * sources): `ready` when every source is (none: ready), `stale` when one is,
 * `state` the worst of theirs; the times, counts and error of the worst
 * source that is not ready (else the worst one); `lastSuccessAt` the oldest.
 * @example
 * ```ts
 * const health = combineHealth({ keys: provider.health(), events: ring.health() });
 * res.statusCode = health.ready ? 200 : 503;
 * ```
 */
export function combineHealth(sources: Readonly<Record<string, KeySourceHealth>>): CombinedKeySourceHealth {
  const entries = Object.entries(sources);
  const unready = entries.filter(([, h]) => !h.ready).map(([name]) => name);
  let worst: KeySourceHealth | undefined;
  for (const [, h] of entries) {
    if (!worst || (h.ready === worst.ready ? RANK[h.state] > RANK[worst.state] : !h.ready)) worst = h;
  }
  const state = entries.reduce<KeySourceState>((s, [, h]) => (RANK[h.state] > RANK[s] ? h.state : s), 'ready');
  const times = entries.map(([, h]) => h.lastSuccessAt);
  const oldest = times.every((t) => t !== undefined) && times.length > 0 ? Math.min(...(times as number[])) : undefined;
  const usable = entries.map(([, h]) => h.usableForMs).filter((t): t is number => t !== undefined);
  return {
    state,
    ready: unready.length === 0,
    stale: entries.some(([, h]) => h.stale),
    source: entries.map(([name]) => name).join(', '),
    ...(oldest !== undefined ? { lastSuccessAt: oldest } : {}),
    consecutiveFailures: entries.reduce((n, [, h]) => Math.max(n, h.consecutiveFailures), 0),
    ...(worst?.lastErrorCode !== undefined ? { lastErrorCode: worst.lastErrorCode } : {}),
    ...(worst?.lastErrorMessage !== undefined ? { lastErrorMessage: worst.lastErrorMessage } : {}),
    ...(usable.length > 0 ? { usableForMs: Math.min(...usable) } : {}),
    sources: Object.fromEntries(entries),
    unready,
  };
}

/**
 * The health of any keys a wireseal call takes (`KeySource`, `FieldKeys`):
 * a provider's own `health()` when it has one; a provider without one is
 * ready when its `current()` answers (else `failing`, with the code it threw);
 * a plain key set is always ready; a keyring (`{ audience: keys }`) is
 * {@link combineHealth} of its audiences.
 * @param name - names the source in the answer when the keys do not name themselves
 * @example
 * ```ts
 * const health = healthOf(keys); // a KeySet, a provider or a keyring
 * if (!health.ready) log({ event: 'keys-unready', ...health });
 * ```
 */
export function healthOf(keys: unknown, name = 'keys'): KeySourceHealth {
  const ok = (): KeySourceHealth => ({ state: 'ready', ready: true, stale: false, source: name, consecutiveFailures: 0 });
  if (keys === null || typeof keys !== 'object') return ok();
  if (keys instanceof KeySet || keys instanceof PublicKeySet || keys instanceof PrivateKeySet) return ok();
  const p = keys as { health?: unknown; current?: unknown };
  if (typeof p.health === 'function') return (p.health as () => KeySourceHealth)();
  if (typeof p.current === 'function') {
    try {
      (p.current as () => unknown)();
      return ok();
    } catch (err) {
      const e = err instanceof WiresealError ? err : undefined;
      return {
        state: 'failing',
        ready: false,
        stale: false,
        source: name,
        consecutiveFailures: 0,
        lastErrorCode: e ? codeOf(e) : 'ERR_KEY_SOURCE',
        ...(e ? { lastErrorMessage: e.message } : {}),
      };
    }
  }
  return combineHealth(Object.fromEntries(Object.entries(keys).map(([audience, k]) => [audience, healthOf(k, audience)])));
}
