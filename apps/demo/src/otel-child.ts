/**
 * Preloaded into every service the demo starts (`node --import …/otel-child.ts src/main.ts`):
 * installs an OpenTelemetry metrics SDK as the global meter provider before the service
 * builds its codecs, and prints what it collected as one `{"event":"otel-metrics",…}`
 * line on stdout on SIGUSR2 (the demo asks before it stops the service) and once when
 * the process is about to exit by itself (checkout). The service's own code is unchanged:
 * wireseal records through `@opentelemetry/api`, which finds this SDK.
 */
import { installMetrics } from './metrics.ts';

const sdk = installMetrics();
const print = async (reason: string): Promise<void> => {
  const summary = await sdk.snapshot();
  process.stdout.write(`${JSON.stringify({ event: 'otel-metrics', reason, ...summary })}\n`);
};
process.on('SIGUSR2', () => void print('asked'));
let printed = false;
process.on('beforeExit', () => {
  if (printed) return;
  printed = true;
  void print('exit');
});
