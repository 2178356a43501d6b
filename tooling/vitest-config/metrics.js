// OpenTelemetry metrics for tests: a meter provider with a reader collected by
// hand, and sums over the data points whose attributes match. One copy for the
// http, kafka and aws-secrets tests.
import { AggregationTemporality, DataPointType, MeterProvider, MetricReader } from '@opentelemetry/sdk-metrics';

class ManualReader extends MetricReader {
  constructor(temporality) {
    super({ aggregationTemporalitySelector: () => temporality });
  }
  onForceFlush() {
    return Promise.resolve();
  }
  onShutdown() {
    return Promise.resolve();
  }
}

/**
 * @param {{ delta?: boolean }} [options] - `delta`: each collection holds only what was
 *   recorded or observed since the last one (default: cumulative, as a Prometheus exporter)
 */
export function testMeters(options = {}) {
  const reader = new ManualReader(options.delta ? AggregationTemporality.DELTA : AggregationTemporality.CUMULATIVE);
  const meterProvider = new MeterProvider({ readers: [reader] });
  async function points(name) {
    const { resourceMetrics } = await reader.collect();
    const out = [];
    for (const scope of resourceMetrics.scopeMetrics) {
      for (const m of scope.metrics) {
        if (m.descriptor.name !== name) continue;
        for (const p of m.dataPoints) out.push({ attributes: p.attributes, value: m.dataPointType === DataPointType.HISTOGRAM ? p.value.count : p.value });
      }
    }
    return out;
  }
  return {
    meterProvider,
    points,
    async total(name, match) {
      const all = await points(name);
      return all.filter((p) => Object.entries(match).every(([k, v]) => p.attributes[k] === v)).reduce((n, p) => n + p.value, 0);
    },
    shutdown: () => meterProvider.shutdown(),
  };
}
