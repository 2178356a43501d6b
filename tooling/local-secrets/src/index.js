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
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { isExecutable, startService } from '@wireseal-tooling/child-reaper/service';

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
 * @property {Record<string, string>} [env] Extra environment for moto_server, e.g. `{ INITIAL_NO_AUTH_ACTION_COUNT: '0' }` to enforce IAM policies.
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
  const service = await startService(options, {
    name: 'moto_server',
    label: 'local-secrets',
    defaultTimeoutMs: 30_000,
    pauseMs: 50,
    log,
    spawn: (port, work) => {
      const out = fs.openSync(work.logFile, 'a');
      try {
        return spawn(python, ['-m', 'moto.server', '-H', HOST, '-p', String(port)], { stdio: ['ignore', out, out], env: { ...process.env, ...options.env, PYTHONUNBUFFERED: '1' } });
      } finally {
        fs.closeSync(out);
      }
    },
    probe: async (port) => {
      const status = await probe(port, 1000);
      return status === 200 ? undefined : `HTTP ${status}`;
    },
  });
  const { work } = service;

  const endpointOf = () => `http://${HOST}:${work.port}`;
  const credentials = Object.freeze({ accessKeyId: 'test', secretAccessKey: 'test' });

  /** @type {SecretsManagerHandle} */
  const handle = {
    get endpoint() {
      return endpointOf();
    },
    get port() {
      return work.port;
    },
    region: REGION,
    credentials,
    logFile: work.logFile,
    clientConfig: () => ({ endpoint: endpointOf(), region: REGION, credentials: { ...credentials } }),
    running: service.running,
    stop: () => service.stop(),
    async start() {
      if (!handle.running()) await service.restart(200);
    },
    async reset() {
      await post(work.port, '/moto-api/reset');
    },
  };
  return handle;
}
