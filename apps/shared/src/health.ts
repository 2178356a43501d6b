/**
 * The sample services' `/healthz` and `/readyz` answers, the same in each:
 *
 * - `GET /healthz` (liveness): 200 `{"ok":true}` while the process runs and
 *   answers HTTP. It does not look at keys: an orchestrator that restarts on
 *   a failed liveness probe must not restart every instance because the key
 *   source is down.
 * - `GET /readyz` (readiness): 200 when every key source the service uses is
 *   usable now, else 503; the body is core's combined `KeySourceHealth` either
 *   way (`ready`, `state`, each source's health under `sources`, the unready
 *   ones under `unready`): states, times, counts and error codes, never key bytes.
 *
 * @module
 */
import { combineHealth, healthOf } from '@wireseal/core';
import type { CombinedKeySourceHealth } from '@wireseal/core';

/** The path of the liveness probe. */
export const HEALTHZ_PATH = '/healthz';
/** The path of the readiness probe. */
export const READYZ_PATH = '/readyz';

/** The health of a service's key sources, by role (`keys`, `events`, …): any keys wireseal takes (a set, a provider, a keyring). */
export function serviceHealth(sources: Readonly<Record<string, unknown>>): CombinedKeySourceHealth {
  return combineHealth(Object.fromEntries(Object.entries(sources).map(([name, keys]) => [name, healthOf(keys, name)])));
}

/** A probe's answer: status and JSON body. */
export interface ProbeAnswer {
  status: 200 | 503;
  body: unknown;
}

/** The answer to `GET /healthz`. */
export function livenessAnswer(): ProbeAnswer {
  return { status: 200, body: { ok: true } };
}

/** The answer to `GET /readyz`: 200 when `health.ready`, else 503; the health as the body. */
export function readinessAnswer(health: CombinedKeySourceHealth): ProbeAnswer {
  return { status: health.ready ? 200 : 503, body: health };
}

/** The answer for a probe path, or `undefined` for any other path (query strings ignored). */
export function probeAnswer(url: string | undefined, health: () => CombinedKeySourceHealth): ProbeAnswer | undefined {
  const path = (url ?? '/').split('?', 1)[0];
  if (path === HEALTHZ_PATH) return livenessAnswer();
  if (path === READYZ_PATH) return readinessAnswer(health());
  return undefined;
}
