// @ts-check
/**
 * A throw-away redis-server for tests and benchmarks: Debian's `redis-server` (installed by
 * `scripts/setup.sh` when run as root) on a free 127.0.0.1 port, with no persistence
 * (`--save '' --appendonly no`) and its working dir in a fresh temp dir.
 *
 * This module never writes to the console; redis-server logs to a temp file, whose tail is
 * quoted in start-up errors.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { awaitReady, freePort, isExecutable, retryStart, scratch, supervise } from '@wireseal-tooling/child-reaper/service';

const HOST = '127.0.0.1';

/**
 * The redis-server to run: the option, `$WIRESEAL_REDIS_SERVER`, else the first `redis-server` on PATH
 * (Debian installs it in /usr/bin); undefined when there is none.
 * @param {string | undefined} override
 */
function serverOf(override) {
  const named = override ?? process.env.WIRESEAL_REDIS_SERVER;
  if (named !== undefined) return named.includes('/') ? named : lookPath(named);
  return lookPath('redis-server');
}

/** @param {string} name */
function lookPath(name) {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (dir && isExecutable(path.join(dir, name))) return path.join(dir, name);
  }
  for (const dir of ['/usr/bin', '/usr/local/bin', '/usr/sbin']) {
    if (isExecutable(path.join(dir, name))) return path.join(dir, name);
  }
  return undefined;
}

/**
 * Can redis-server be started here?
 * @param {{ redisServer?: string }} [options]
 * @returns {{ ok: true } | { ok: false, reason: string }}
 */
export function redisAvailable(options = {}) {
  const server = serverOf(options.redisServer);
  if (server === undefined || !isExecutable(server)) {
    return {
      ok: false,
      reason: `local-redis: redis-server (${options.redisServer ?? process.env.WIRESEAL_REDIS_SERVER ?? 'on PATH'}) is missing; run ./dev setup as root (it installs Debian's redis-server), or apt-get install redis-server`,
    };
  }
  return { ok: true };
}

/**
 * One inline `PING`; resolves when redis-server answers `+PONG`, rejects otherwise.
 * @param {number} port
 * @param {number} timeoutMs
 * @returns {Promise<void>}
 */
function ping(port, timeoutMs) {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: HOST, port });
    let reply = '';
    const done = (/** @type {Error | undefined} */ err) => {
      clearTimeout(timer);
      socket.destroy();
      if (err) reject(err);
      else resolve();
    };
    const timer = setTimeout(() => done(new Error('PING timed out')), timeoutMs);
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.on('data', (d) => {
      reply += d.toString('latin1');
      if (reply.includes('\r\n')) done(reply.startsWith('+PONG') ? undefined : new Error(`PING answered ${reply.trim().slice(0, 80)}`));
    });
    socket.once('error', (e) => done(e));
    socket.once('close', () => done(new Error('connection closed before PONG')));
  });
}

/**
 * Starts redis-server on 127.0.0.1 and resolves once it answers PING.
 * @param {import('./index.d.ts').StartRedisOptions} [options]
 * @returns {Promise<import('./index.d.ts').RedisHandle>}
 */
export async function startRedis(options = {}) {
  const log = options.onLog ?? (() => {});
  const avail = redisAvailable(options);
  if (!avail.ok) throw new Error(avail.reason);
  const server = /** @type {string} */ (serverOf(options.redisServer));
  const work = await scratch(options, 'redis', 10_000);
  const { timeoutMs, fixedPort, logFile, dir: workDir, removeDir: removeWorkDir } = work;
  let port = work.port;


  /** One attempt to start redis-server on `port`; rejects if it exits or does not answer in time. */
  const startOnce = async () => {
    const t0 = Date.now();
    fs.mkdirSync(workDir, { recursive: true });
    const args = [
      '--bind', HOST,
      '--port', String(port),
      '--save', '',
      '--appendonly', 'no',
      '--dir', workDir,
      '--logfile', logFile,
      '--daemonize', 'no',
      '--protected-mode', 'yes',
      '--databases', '1',
      ...(options.args ?? []),
    ];
    const child = spawn(server, args, { stdio: ['ignore', 'ignore', 'ignore'] });
    work.proc = child;
    const watched = supervise(child, 'local-redis-watchdog', removeWorkDir);
    work.supervised = watched;
    log(`started redis-server pid ${child.pid} on ${HOST}:${port}`);

    try {
      await awaitReady(watched, async () => void (await ping(port, 1000)), { name: 'local-redis: redis-server', logFile, t0, timeoutMs, pauseMs: 25 });
    } catch (e) {
      await stopProcess('SIGKILL');
      throw e;
    }
    log(`redis-server ready in ${Date.now() - t0} ms`);
  };

  /** @param {'SIGTERM' | 'SIGKILL'} signal */
  const stopProcess = async (signal) => {
    const watched = work.supervised;
    work.supervised = undefined;
    work.proc?.kill('SIGCONT'); // a paused server cannot act on SIGTERM
    work.proc = undefined;
    await watched?.stop(signal);
  };

  try {
    // A port picked by binding 0 can be taken by someone else before redis-server binds it: pick another.
    await retryStart(startOnce, { fixedPort, nextPort: async () => void (port = await freePort()) });
  } catch (e) {
    removeWorkDir();
    throw e;
  }

  /** @type {import('./index.d.ts').RedisHandle} */
  const handle = {
    host: HOST,
    get port() {
      return port;
    },
    get url() {
      return `redis://${HOST}:${port}`;
    },
    logFile,
    get pid() {
      return handle.running() ? work.proc?.pid : undefined;
    },
    running: () => work.proc !== undefined && work.proc.exitCode === null && work.proc.signalCode === null,
    async stop(signal = 'SIGTERM') {
      if (!work.proc) return;
      const t0 = Date.now();
      await stopProcess(signal);
      removeWorkDir();
      log(`redis-server stopped (${signal}) in ${Date.now() - t0} ms`);
    },
    async start() {
      if (handle.running()) return;
      // Restart on the same port, so clients configured with the URL reconnect to it.
      await retryStart(startOnce, { fixedPort: true, budgetMs: timeoutMs, pauseMs: 100 });
    },
    pause() {
      if (handle.running()) work.proc?.kill('SIGSTOP');
    },
    resume() {
      if (handle.running()) work.proc?.kill('SIGCONT');
    },
  };
  return handle;
}
