// @ts-check
/**
 * A throw-away AWS Secrets Manager API for tests and demos: `moto_server` (PyPI `moto[server]`)
 * from the project's virtualenv, on a free 127.0.0.1 port. Point any AWS SDK client at it with
 * `handle.clientConfig()` (endpoint, region, dummy credentials).
 *
 * moto keeps its state in memory: after stop()/start() every secret is gone; recreate what you need.
 * This module never writes to the console; moto's own output goes to a temp log file, whose tail is
 * quoted in start-up errors.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { awaitReady, freePort, isExecutable, retryStart, scratch, supervise } from '@wireseal-tooling/child-reaper/service';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const REPO_ROOT = path.resolve(HERE, '..', '..', '..');
const HOST = '127.0.0.1';
const REGION = 'us-east-1';

/** @param {string | undefined} override */
function pythonOf(override) {
  return override ?? process.env.WIRESEAL_PYTHON ?? path.join(REPO_ROOT, '.toolchain', 'venv', 'bin', 'python');
}

/**
 * Can moto_server be started here? True when the project's virtualenv python exists.
 * @param {{ python?: string }} [options]
 * @returns {{ ok: true } | { ok: false, reason: string }}
 */
export function secretsManagerAvailable(options = {}) {
  const python = pythonOf(options.python);
  if (!isExecutable(python)) {
    return {
      ok: false,
      reason: `local-secrets: the project virtualenv python (${python}) is missing; run ./dev setup (it installs moto[server])`,
    };
  }
  return { ok: true };
}

// Every live child is killed when this Node process exits or is signalled (@wireseal-tooling/child-reaper/service).

/**
 * One HTTP GET to moto's management API; resolves to the status code, rejects if nothing answers.
 * @param {number} port
 * @param {number} timeoutMs
 * @returns {Promise<number>}
 */
function probe(port, timeoutMs) {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: HOST, port, path: '/moto-api/', agent: false, timeout: timeoutMs }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('timeout', () => req.destroy(new Error('probe timed out')));
    req.on('error', reject);
  });
}

/**
 * POST to moto's management API (reset).
 * @param {number} port
 * @param {string} urlPath
 */
function post(port, urlPath) {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: HOST, port, path: urlPath, method: 'POST', agent: false, timeout: 10_000 }, (res) => {
      res.resume();
      res.on('end', () => ((res.statusCode ?? 500) < 300 ? resolve(undefined) : reject(new Error(`local-secrets: ${urlPath} answered ${res.statusCode}`))));
    });
    req.on('timeout', () => req.destroy(new Error(`local-secrets: ${urlPath} timed out`)));
    req.on('error', reject);
    req.end();
  });
}

/**
 * @typedef {object} StartSecretsManagerOptions
 * @property {number} [port] Port on 127.0.0.1; default: a free one.
 * @property {string} [python] Python with moto[server] (default: $WIRESEAL_PYTHON, else <repo>/.toolchain/venv/bin/python).
 * @property {number} [timeoutMs] How long to wait until moto answers HTTP (default 30000).
 * @property {(line: string) => void} [onLog] Receives this module's own progress messages (never printed).
 */

/**
 * @typedef {object} AwsClientConfig
 * @property {string} endpoint
 * @property {string} region
 * @property {{ accessKeyId: string, secretAccessKey: string }} credentials
 */

/**
 * @typedef {object} SecretsManagerHandle
 * @property {string} endpoint e.g. 'http://127.0.0.1:40123'
 * @property {number} port
 * @property {string} region always 'us-east-1'
 * @property {{ accessKeyId: string, secretAccessKey: string }} credentials dummy credentials moto accepts
 * @property {() => AwsClientConfig} clientConfig A fresh `{ endpoint, region, credentials }` for an AWS SDK v3 client.
 * @property {() => Promise<void>} stop Stops moto (its state is lost) and removes its log; idempotent.
 * @property {() => Promise<void>} start Starts moto again on the same port (after stop()); no-op while running.
 * @property {() => Promise<void>} reset Deletes every secret (moto's /moto-api/reset) without a restart.
 * @property {() => boolean} running True while the moto process is up.
 * @property {string} logFile moto's stdout/stderr log (removed by stop()).
 */

/**
 * Starts moto_server on 127.0.0.1 and resolves once it answers HTTP.
 * @param {StartSecretsManagerOptions} [options]
 * @returns {Promise<SecretsManagerHandle>}
 */
export async function startSecretsManager(options = {}) {
  const log = options.onLog ?? (() => {});
  const python = pythonOf(options.python);
  const avail = secretsManagerAvailable({ python });
  if (!avail.ok) throw new Error(avail.reason);
  const work = await scratch(options, 'moto', 30_000);
  const { timeoutMs, fixedPort, logFile, dir: logDir, removeDir: removeLogDir } = work;
  let port = work.port;


  /** One attempt to start moto on `port`; rejects if it exits or does not answer in time. */
  const startOnce = async () => {
    const t0 = Date.now();
    fs.mkdirSync(logDir, { recursive: true });
    const out = fs.openSync(logFile, 'a');
    const child = spawn(python, ['-m', 'moto.server', '-H', HOST, '-p', String(port)], {
      stdio: ['ignore', out, out],
      env: { ...process.env, PYTHONUNBUFFERED: '1' },
    });
    fs.closeSync(out);
    work.proc = child;
    const watched = supervise(child, 'local-secrets-watchdog', removeLogDir);
    work.supervised = watched;
    log(`started moto_server pid ${child.pid} on ${HOST}:${port}`);

    try {
      await awaitReady(watched, async () => {
        const status = await probe(port, 1000);
        return status === 200 ? undefined : `HTTP ${status}`;
      }, { name: 'local-secrets: moto_server', logFile, t0, timeoutMs, pauseMs: 50 });
    } catch (e) {
      await stopProcess();
      throw e;
    }
    log(`moto_server ready in ${Date.now() - t0} ms`);
  };

  const stopProcess = async () => {
    const watched = work.supervised;
    work.supervised = undefined;
    work.proc = undefined;
    await watched?.stop();
  };

  try {
    // A port picked by binding 0 can be taken by someone else before moto binds it: pick another.
    await retryStart(startOnce, { fixedPort, nextPort: async () => void (port = await freePort()) });
  } catch (e) {
    removeLogDir();
    throw e;
  }

  const endpointOf = () => `http://${HOST}:${port}`;
  const credentials = Object.freeze({ accessKeyId: 'test', secretAccessKey: 'test' });

  /** @type {SecretsManagerHandle} */
  const handle = {
    get endpoint() {
      return endpointOf();
    },
    get port() {
      return port;
    },
    region: REGION,
    credentials,
    logFile,
    clientConfig: () => ({ endpoint: endpointOf(), region: REGION, credentials: { ...credentials } }),
    running: () => work.proc !== undefined && work.proc.exitCode === null && work.proc.signalCode === null,
    async stop() {
      if (!work.proc) return;
      const t0 = Date.now();
      await stopProcess();
      removeLogDir();
      log(`moto_server stopped in ${Date.now() - t0} ms`);
    },
    async start() {
      if (handle.running()) return;
      // Restart on the same port, so clients configured with the endpoint keep working; the old
      // socket can linger for a moment, so retry within the time budget.
      await retryStart(startOnce, { fixedPort: true, budgetMs: timeoutMs, pauseMs: 200 });
    },
    async reset() {
      await post(port, '/moto-api/reset');
    },
  };
  return handle;
}
