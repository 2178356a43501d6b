/**
 * Key-source gauges through the OpenTelemetry API: how long ago a key source
 * last refreshed, whether it is usable, and which kids it holds in which
 * role. `secretsManagerKeyProvider` and `secretsManagerKeyring` register
 * theirs; `observeKeySource` does the same for any provider with `status()`
 * (core's `fileKeyProvider`, `envKeyProvider`, `refreshingProvider`).
 */
import { metrics } from '@opentelemetry/api';
import type { Attributes, MeterProvider, ObservableGauge, ObservableResult } from '@opentelemetry/api';
import type { AudienceKeySet } from '@wireseal/core';
import pkg from '../package.json' with { type: 'json' };

/** The instrumentation scope, and the `package` attribute of every observation. */
const PACKAGE = '@wireseal/aws-secrets';

/** A key source the gauges can watch: a provider with `current()` and `status()`. */
export interface ObservableKeySource {
  /** The key set in force; throws (`ERR_KEY_SOURCE`) when there is none. */
  current(): AudienceKeySet;
  /** A snapshot without I/O: when the last load succeeded (ms since the epoch), and whether `current()` works. */
  status(): { readonly lastSuccessAt?: number | undefined; readonly usable?: boolean; readonly closed?: boolean };
}

/** Options for {@link observeKeySource}. */
export interface ObserveKeySourceOptions {
  /** Names the source in the `source` attribute: a secret id, a file path, an environment variable; never a secret. */
  source: string;
  /** The audience the source serves (`audience` attribute), when it is one audience of a keyring. */
  audience?: string;
  /** Where the gauges go. Default: the global OpenTelemetry meter provider at the time of the call. */
  meterProvider?: MeterProvider;
  /** Clock in ms since the epoch, the provider's own. Default `Date.now`. */
  now?: () => number;
}

/** What {@link observeKeySource} returns. */
export interface KeySourceObservation {
  /** Stops observing this source (its series disappear from the next collection). */
  close(): void;
}

interface Gauges {
  readonly age: ObservableGauge;
  readonly usable: ObservableGauge;
  readonly kids: ObservableGauge;
}

const made = new WeakMap<MeterProvider, Gauges>();

function gaugesOf(provider: MeterProvider): Gauges {
  let g = made.get(provider);
  if (g === undefined) {
    const meter = provider.getMeter(PACKAGE, pkg.version);
    g = {
      age: meter.createObservableGauge('wireseal.keys.refresh_age', { unit: 's', description: 'Seconds since the key source last loaded or refreshed successfully' }),
      usable: meter.createObservableGauge('wireseal.keys.usable', { unit: '1', description: '1 when the key source hands out keys now, 0 when current() throws (not loaded, stale past maxStaleMs, closed)' }),
      kids: meter.createObservableGauge('wireseal.keys.loaded', { unit: '{key}', description: 'One series per kid and role: 1 while the key is in force, 0 once it is not' }),
    };
    made.set(provider, g);
  }
  return g;
}

/** A key's role: `primary`, `decrypt-only`, `encrypt-only` (shared sets), `private` or `public` (key pairs, public keys). */
function roles(set: AudienceKeySet): Array<{ kid: string; role: string }> {
  return set.list().map((k) => ({ kid: k.kid, role: 'role' in k ? k.role : k.private ? 'private' : 'public' }));
}

/**
 * Observes a key source: `wireseal.keys.refresh_age` (seconds since its last
 * successful load), `wireseal.keys.usable` (1 or 0) and `wireseal.keys.loaded`
 * (one series per kid and role: 1 while in force, 0 once it is not, or while
 * `current()` throws), each with `package`, `source` and (when given)
 * `audience`. No age before the first load; nothing is observed after
 * `close()` (of the observation, or of an aws-secrets provider).
 * @example
 * const keys = fileKeyProvider({ path: '/etc/wireseal/keys.json' });
 * await keys.ready();
 * observeKeySource(keys, { source: '/etc/wireseal/keys.json' });
 */
export function observeKeySource(provider: ObservableKeySource, options: ObserveKeySourceOptions): KeySourceObservation {
  const gauges = gaugesOf(options.meterProvider ?? metrics.getMeterProvider());
  const now = options.now ?? Date.now;
  const base: Attributes = { package: PACKAGE, source: options.source };
  if (options.audience !== undefined) base.audience = options.audience;
  const age = (result: ObservableResult): void => {
    const s = provider.status();
    if (s.closed !== true && s.lastSuccessAt !== undefined) result.observe(Math.max(0, (now() - s.lastSuccessAt) / 1000), base);
  };
  const usable = (result: ObservableResult): void => {
    const s = provider.status();
    if (s.closed !== true) result.observe(s.usable === false ? 0 : 1, base);
  };
  // Every kid and role seen: one no longer in force reports 0 rather than
  // vanishing (a cumulative exporter would keep showing its last 1).
  const seen = new Map<string, Attributes>();
  const kids = (result: ObservableResult): void => {
    const now = new Set<string>();
    let set: AudienceKeySet | undefined;
    try {
      set = provider.current();
    } catch {
      // no keys in force (wireseal.keys.usable says 0): every kid seen reports 0
    }
    for (const { kid, role } of set ? roles(set) : []) {
      const id = JSON.stringify([kid, role]);
      if (!seen.has(id)) seen.set(id, { ...base, kid, role });
      now.add(id);
    }
    for (const [id, attributes] of seen) result.observe(now.has(id) ? 1 : 0, attributes);
  };
  gauges.age.addCallback(age);
  gauges.usable.addCallback(usable);
  gauges.kids.addCallback(kids);
  let closed = false;
  return {
    close(): void {
      if (closed) return;
      closed = true;
      gauges.age.removeCallback(age);
      gauges.usable.removeCallback(usable);
      gauges.kids.removeCallback(kids);
    },
  };
}
