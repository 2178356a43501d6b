/**
 * What every sample service does as a process: one JSON line per event on
 * stdout, tagged with the service's name, and a clean stop on SIGTERM or
 * SIGINT.
 *
 * @module
 */

/** A logger that writes `{"service": name, ...event}` as one line on stdout. */
export function jsonLog(service: string): (event: Record<string, unknown>) => void {
  return (event) => {
    process.stdout.write(`${JSON.stringify({ service, ...event })}\n`);
  };
}

/** Runs `stop` once on the first SIGTERM or SIGINT, then exits 0. */
export function stopOnSignals(stop: () => Promise<void>): void {
  let stopping = false;
  const once = async (): Promise<void> => {
    if (stopping) return;
    stopping = true;
    await stop();
    process.exit(0);
  };
  process.on('SIGTERM', () => void once());
  process.on('SIGINT', () => void once());
}
