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
import net from 'node:net';
import path from 'node:path';
import { isExecutable, startService } from '@wireseal-tooling/child-reaper/service';

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
  const service = await startService(options, {
    name: 'redis-server',
    label: 'local-redis',
    defaultTimeoutMs: 10_000,
    pauseMs: 25,
    killSignal: 'SIGKILL',
    resumeBeforeStop: true,
    log,
    spawn: (port, work) =>
      spawn(server, ['--bind', HOST, '--port', String(port), '--save', '', '--appendonly', 'no', '--dir', work.dir, '--logfile', work.logFile, '--daemonize', 'no', '--protected-mode', 'yes', '--databases', '1', ...(options.args ?? [])], {
        stdio: ['ignore', 'ignore', 'ignore'],
      }),
    probe: async (port) => void (await ping(port, 1000)),
  });
  const { work } = service;

  /** @type {import('./index.d.ts').RedisHandle} */
  const handle = {
    host: HOST,
    get port() {
      return work.port;
    },
    get url() {
      return `redis://${HOST}:${work.port}`;
    },
    logFile: work.logFile,
    get pid() {
      return handle.running() ? work.proc?.pid : undefined;
    },
    running: service.running,
    stop: (signal = 'SIGTERM') => service.stop(signal),
    async start() {
      if (!handle.running()) await service.restart(100);
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
