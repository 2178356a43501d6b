// @ts-check
// What the local services (moto_server, redis-server) share about running a server child on
// loopback: a free port, a supervised child (killed when Node exits, is signalled or dies hard),
// stopping it, retrying a start, and quoting its log. Never writes to the console.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { track, untrack } from './index.js';

/**
 * What a service starts with: its start timeout, its port (a free one unless fixed), a
 * fresh work directory holding its log file, and how to remove that directory.
 * @param {{ port?: number, timeoutMs?: number }} options
 * @param {string} name - short name: the directory is wireseal-NAME-*, the log NAME.log
 * @param {number} defaultTimeoutMs
 */
export async function scratch(options, name, defaultTimeoutMs) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `wireseal-${name}-`));
  return {
    timeoutMs: options.timeoutMs ?? defaultTimeoutMs,
    fixedPort: options.port !== undefined,
    port: options.port ?? (await freePort()),
    dir,
    logFile: path.join(dir, `${name}.log`),
    removeDir: () => fs.rmSync(dir, { recursive: true, force: true }),
    /** @type {import('node:child_process').ChildProcess | undefined} the running child */
    proc: undefined,
    /** @type {import('./service.d.ts').Supervised | undefined} its supervision */
    supervised: undefined,
  };
}

/** @param {string} p */
export function isExecutable(p) {
  try {
    fs.accessSync(p, fs.constants.X_OK);
    return fs.statSync(p).isFile();
  } catch {
    return false;
  }
}

/** A free TCP port on `host` (bind port 0, read it, release it). */
export async function freePort(host = '127.0.0.1') {
  const srv = net.createServer();
  srv.listen(0, host);
  await once(srv, 'listening');
  const { port } = /** @type {net.AddressInfo} */ (srv.address());
  await new Promise((r) => srv.close(() => r(undefined)));
  return port;
}

/** @param {number} ms */
export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** The last `lines` lines of a log file, or `(no log)`. @param {string} file @param {number} lines */
export function tail(file, lines) {
  try {
    return fs.readFileSync(file, 'utf8').split('\n').slice(-lines - 1).join('\n').trimEnd();
  } catch {
    return '(no log)';
  }
}

/**
 * Supervises a server child just spawned: unref()s it (a forgotten server must not keep Node
 * alive), kills it when this Node process exits or is signalled (the reaper registry), and starts
 * a watchdog that kills it if Node dies without running its exit hooks (SIGKILL, OOM): the pipe
 * closes, `read` returns and the shell kills the child.
 * @param {import('node:child_process').ChildProcess} child
 * @param {string} label names the watchdog in `ps`
 * @param {() => void} [onKill] also run when the reaper kills it (e.g. remove a temp dir)
 */
export function supervise(child, label, onKill = () => {}) {
  child.unref();
  const exited = once(child, 'exit').catch(() => undefined);
  /** @type {string | undefined} */
  let exitInfo;
  child.once('exit', (code, sig) => (exitInfo = `exit ${code ?? sig}`));
  child.once('error', (e) => (exitInfo = e.message));
  const watchdog = spawn('/bin/sh', ['-c', 'read _x; kill -9 "$1" 2>/dev/null', label, String(child.pid)], {
    stdio: ['pipe', 'ignore', 'ignore'],
  });
  watchdog.unref();
  watchdog.stdin?.on('error', () => {});
  /** @type {any} */ (watchdog.stdin)?.unref?.();
  child.once('exit', () => watchdog.kill('SIGKILL'));
  const entry = {
    kill: () => {
      watchdog.kill('SIGKILL');
      child.kill('SIGKILL');
      onKill();
    },
  };
  track(entry);
  let released = false;
  return {
    /** Resolves when the child has exited. */
    exited,
    /** Why the child ended (`exit 1`, `exit SIGKILL`, a spawn error), or undefined while it runs. */
    exitInfo: () => exitInfo,
    /**
     * Stops the child: `signal` (SIGTERM), SIGKILL after `timeoutMs` (5000); then unregisters it.
     * @param {NodeJS.Signals} [signal]
     * @param {number} [timeoutMs]
     */
    async stop(signal = 'SIGTERM', timeoutMs = 5000) {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill(signal);
        /** @type {NodeJS.Timeout | undefined} */
        let timer;
        const timeout = new Promise((r) => (timer = setTimeout(r, timeoutMs, 'timeout')));
        const outcome = await Promise.race([exited, timeout]);
        clearTimeout(timer);
        if (outcome === 'timeout') {
          child.kill('SIGKILL');
          await exited;
        }
      }
      this.release();
    },
    /** Unregisters the child from the reaper (it ended by itself). */
    release() {
      if (!released) untrack(entry);
      released = true;
    },
  };
}

/**
 * Runs `attempt` until it resolves: on a port picked by binding 0 (`fixedPort` false) up to three
 * times, calling `nextPort` between tries (someone else may take the port before the server binds
 * it); on a fixed port once, or with `budgetMs` (a restart, whose old socket can linger a moment)
 * until that is spent, `pauseMs` (200) apart.
 * @param {() => Promise<void>} attempt
 * @param {{ fixedPort: boolean, nextPort?: () => Promise<void>, budgetMs?: number, pauseMs?: number }} how
 */
export async function retryStart(attempt, how) {
  const t0 = Date.now();
  for (let n = 1; ; n++) {
    try {
      await attempt();
      return;
    } catch (e) {
      if (how.fixedPort ? how.budgetMs === undefined || Date.now() - t0 > how.budgetMs : n >= 3) throw e;
      if (how.fixedPort) await sleep(how.pauseMs ?? 200);
      else await how.nextPort?.();
    }
  }
}

/**
 * Waits until `probe` says the server answers: it resolves to undefined when ready, or to (or
 * throws) what was wrong, and is retried `pauseMs` apart until `timeoutMs` after `t0`. Throws,
 * quoting the log's last 20 lines, when the child ends first or the time is up; the caller then
 * stops the child.
 * @param {ReturnType<typeof supervise>} watched
 * @param {() => Promise<string | undefined>} probe
 * @param {{ name: string, logFile: string, t0: number, timeoutMs: number, pauseMs: number }} how
 */
export async function awaitReady(watched, probe, how) {
  let lastErr = '';
  while (Date.now() - how.t0 < how.timeoutMs) {
    const exitInfo = watched.exitInfo();
    if (exitInfo) throw new Error(`${how.name} ended during start-up (${exitInfo}). Last lines of ${how.logFile}:\n${tail(how.logFile, 20)}`);
    try {
      const problem = await probe();
      if (problem === undefined) return;
      lastErr = problem;
    } catch (e) {
      lastErr = /** @type {Error} */ (e).message;
    }
    await sleep(how.pauseMs);
  }
  throw new Error(`${how.name} not ready after ${how.timeoutMs} ms (last probe: ${lastErr}). Last lines of ${how.logFile}:\n${tail(how.logFile, 20)}`);
}

/**
 * A supervised server child on a loopback port: started (on a free port unless one is
 * fixed, trying another when the port is lost to a race), waited for until `probe`
 * answers, stopped, and restarted on the same port. The local services (moto_server,
 * redis-server) are this plus their own command line and handle.
 * @param {{ port?: number, timeoutMs?: number }} options
 * @param {import('./service.d.ts').ServiceSpec} spec
 * @returns {Promise<import('./service.d.ts').Service>}
 */
export async function startService(options, spec) {
  const work = await scratch(options, spec.name, spec.defaultTimeoutMs);
  const log = spec.log ?? (() => {});
  /** @param {NodeJS.Signals} [signal] */
  const stopProcess = async (signal) => {
    const watched = work.supervised;
    work.supervised = undefined;
    if (spec.resumeBeforeStop) work.proc?.kill('SIGCONT'); // a paused server cannot act on SIGTERM
    work.proc = undefined;
    await watched?.stop(signal);
  };
  const startOnce = async () => {
    const t0 = Date.now();
    fs.mkdirSync(work.dir, { recursive: true });
    const child = spec.spawn(work.port, work);
    work.proc = child;
    const watched = supervise(child, `${spec.label}-watchdog`, work.removeDir);
    work.supervised = watched;
    log(`started ${spec.name} pid ${child.pid} on 127.0.0.1:${work.port}`);
    try {
      await awaitReady(watched, () => spec.probe(work.port), { name: `${spec.label}: ${spec.name}`, logFile: work.logFile, t0, timeoutMs: work.timeoutMs, pauseMs: spec.pauseMs });
    } catch (e) {
      await stopProcess(spec.killSignal);
      throw e;
    }
    log(`${spec.name} ready in ${Date.now() - t0} ms`);
  };
  try {
    // A port picked by binding 0 can be taken by someone else before the server binds it: pick another.
    await retryStart(startOnce, { fixedPort: work.fixedPort, nextPort: async () => void (work.port = await freePort()) });
  } catch (e) {
    work.removeDir();
    throw e;
  }
  return {
    work,
    running: () => work.proc !== undefined && work.proc.exitCode === null && work.proc.signalCode === null,
    async stop(signal) {
      if (!work.proc) return;
      const t0 = Date.now();
      await stopProcess(signal);
      work.removeDir();
      log(`${spec.name} stopped${signal ? ` (${signal})` : ''} in ${Date.now() - t0} ms`);
    },
    async restart(pauseMs) {
      // On the same port, so clients configured with it reconnect; the old socket can linger, so retry within the budget.
      await retryStart(startOnce, { fixedPort: true, budgetMs: work.timeoutMs, pauseMs });
    },
  };
}
