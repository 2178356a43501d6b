/**
 * The demo's view of wireseal's OpenTelemetry instruments (docs/operations.md §3.1):
 * an in-process SDK (`@opentelemetry/sdk-metrics` MeterProvider with a reader the demo
 * collects from on demand) installed as the global meter provider, and a summary of
 * what it collected: values by outcome (`wireseal.values`), records rejected by code
 * (`wireseal.records`, `outcome: rejected`), and the kids in use.
 *
 * Every service runs as its own process, so each installs its own SDK (the preload
 * `otel-child.ts`, given to every child with `--import`) and prints its summary as an
 * `{"event":"otel-metrics"}` line when the demo asks (SIGUSR2) or when it exits by
 * itself (checkout). The demo process installs one too, for the calls it makes itself
 * (the partner client of the gateway tour).
 */
import { metrics } from '@opentelemetry/api';
import { MeterProvider, MetricReader } from '@opentelemetry/sdk-metrics';

/** What one process's SDK saw, summed over packages, directions and topics. */
export interface MetricsSummary {
  /** `wireseal.values` by `outcome` (`opened`, `sealed`, `left_sealed`, `passed_through`). */
  values: Record<string, number>;
  /** `wireseal.records` with `outcome: rejected`, by `code`. */
  rejectedByCode: Record<string, number>;
  /** Kids that sealed or opened a value (`wireseal.values`), and kids a key source reports in force (`wireseal.keys.loaded` = 1). */
  kids: string[];
}

/** A reader that exports nowhere: the demo calls `collect()` itself. */
class PullReader extends MetricReader {
  protected override async onShutdown(): Promise<void> {}
  protected override async onForceFlush(): Promise<void> {}
}

/** Installs an SDK as the global meter provider; `snapshot()` collects and summarises. */
export function installMetrics(): { provider: MeterProvider; snapshot(): Promise<MetricsSummary> } {
  const reader = new PullReader();
  const provider = new MeterProvider({ readers: [reader] });
  if (!metrics.setGlobalMeterProvider(provider)) throw new Error('demo: a global OpenTelemetry meter provider was already installed');
  return {
    provider,
    async snapshot() {
      const { resourceMetrics } = await reader.collect();
      const out: MetricsSummary = { values: {}, rejectedByCode: {}, kids: [] };
      const kids = new Set<string>();
      const add = (o: Record<string, number>, k: string, n: number): void => {
        o[k] = (o[k] ?? 0) + n;
      };
      for (const scope of resourceMetrics.scopeMetrics) {
        for (const m of scope.metrics) {
          for (const dp of m.dataPoints as Array<{ attributes: Record<string, unknown>; value: unknown }>) {
            const a = dp.attributes;
            const n = typeof dp.value === 'number' ? dp.value : 0;
            if (m.descriptor.name === 'wireseal.values' && n > 0) {
              add(out.values, String(a.outcome), n);
              if (typeof a.kid === 'string' && (a.outcome === 'sealed' || a.outcome === 'opened')) kids.add(a.kid);
            } else if (m.descriptor.name === 'wireseal.records' && a.outcome === 'rejected' && n > 0) {
              add(out.rejectedByCode, String(a.code), n);
            } else if (m.descriptor.name === 'wireseal.keys.loaded' && n === 1 && typeof a.kid === 'string') {
              kids.add(a.kid);
            }
          }
        }
      }
      out.kids = [...kids].sort();
      return out;
    },
  };
}

/** Adds `b`'s counts and kids into `a`. */
export function mergeSummaries(a: MetricsSummary, b: MetricsSummary): MetricsSummary {
  const sum = (x: Record<string, number>, y: Record<string, number>): Record<string, number> => {
    const o = { ...x };
    for (const [k, n] of Object.entries(y)) o[k] = (o[k] ?? 0) + n;
    return o;
  };
  return { values: sum(a.values, b.values), rejectedByCode: sum(a.rejectedByCode, b.rejectedByCode), kids: [...new Set([...a.kids, ...b.kids])].sort() };
}

/** `ERR_DECRYPT 2, ERR_REPLAY 1` (sorted by code), or `-`. */
export function codes(byCode: Record<string, number>): string {
  return Object.entries(byCode).sort(([x], [y]) => x.localeCompare(y)).map(([c, n]) => `${c} ${n}`).join(', ') || '-';
}
