// One registry of live child processes for every local service (Kafka, moto):
// each is killed when this Node process exits or is signalled. One module, so
// one listener per signal however many services a process starts, and the
// "re-raise when nobody else listens" rule below sees the true listener count.

/** @type {Set<{ kill(): void }>} */
const live = new Set();
const SIGNALS = /** @type {const} */ (['SIGINT', 'SIGTERM', 'SIGHUP']);
let hooksInstalled = false;

function killAllSync() {
  for (const entry of [...live]) {
    try {
      entry.kill();
    } catch {
      /* best effort */
    }
  }
}

/** @param {NodeJS.Signals} signal */
function onSignal(signal) {
  killAllSync();
  // If nobody else handles this signal, behave as Node would without our listener: die by it.
  if (process.listenerCount(signal) <= 1) {
    uninstallHooks();
    process.kill(process.pid, signal);
  }
}

function installHooks() {
  if (hooksInstalled) return;
  hooksInstalled = true;
  process.on('exit', killAllSync);
  for (const s of SIGNALS) process.on(s, onSignal);
}

function uninstallHooks() {
  if (!hooksInstalled) return;
  hooksInstalled = false;
  process.removeListener('exit', killAllSync);
  for (const s of SIGNALS) process.removeListener(s, onSignal);
}

/** @param {{ kill(): void }} entry */
export function track(entry) {
  live.add(entry);
  installHooks();
}

/** @param {{ kill(): void }} entry */
export function untrack(entry) {
  live.delete(entry);
  if (live.size === 0) uninstallHooks();
}
