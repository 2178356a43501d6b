/**
 * The HTTP codec's metrics, through the OpenTelemetry API: the instruments
 * and counting rules are core's (`@wireseal/core/internal`), the meter is the
 * application's (`meterProvider`, else the global one, a no-op until an SDK
 * is installed).
 */
import { metrics } from '@opentelemetry/api';
import type { MeterProvider } from '@opentelemetry/api';
import { MetricRecorder } from '@wireseal/core/internal';
import pkg from '../../package.json' with { type: 'json' };

/** The instrumentation scope, and the `package` attribute of every recording. */
export const HTTP_PACKAGE = '@wireseal/http';

/** @internal The recorder of one codec. */
export function httpMetrics(provider: MeterProvider | undefined): MetricRecorder {
  return new MetricRecorder(() => provider ?? metrics.getMeterProvider(), [HTTP_PACKAGE, pkg.version]);
}
