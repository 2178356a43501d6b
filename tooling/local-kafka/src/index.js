// @ts-check
/**
 * A throw-away, single-node Apache Kafka broker (KRaft, combined broker+controller) for tests.
 *
 * The broker runs as `java -cp '<libs>/*' kafka.Kafka server.properties` from the jars that
 * fetch-jars.sh puts in $WIRESEAL_KAFKA_LIBS. It listens on 127.0.0.1 only, on free ports,
 * keeps its data in a fresh temp dir and logs to files there, never to our stdout/stderr.
 *
 * Set WIRESEAL_KAFKA_BROKERS=host:port[,host:port...] to use an existing cluster instead:
 * startKafka() then returns a handle whose stop()/restart() do nothing.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { track, untrack } from '@wireseal-tooling/child-reaper';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const REPO_ROOT = path.resolve(HERE, '..', '..', '..');

/**
 * @typedef {object} StartKafkaOptions
 * @property {string} [logDir] Working dir of the broker (created if missing). Holds `data/` (Kafka's
 *   log.dirs), `logs/server.log` (broker log), `server.properties` and `log4j.properties`.
 *   Default: a fresh temp dir, removed by stop() unless `keepLogDir`. A dir given here is never removed;
 *   if it already holds a formatted broker, that data is reused.
 * @property {boolean} [keepLogDir] Keep the temp dir after stop() (also: WIRESEAL_KAFKA_KEEP_LOGS=1).
 * @property {number} [port] Broker (PLAINTEXT) port; default: a free port on 127.0.0.1.
 * @property {number} [controllerPort] Controller port; default: a free port on 127.0.0.1.
 * @property {Record<string, string | number | boolean>} [config] Extra/overriding server.properties entries.
 * @property {number} [timeoutMs] How long to wait for readiness (default 90000).
 * @property {number} [stopTimeoutMs] How long stop() waits after SIGTERM before SIGKILL (default 30000).
 * @property {string[]} [jvmArgs] JVM options, replacing the defaults (small heap, SerialGC).
 * @property {string} [libsDir] Kafka jars dir (default: $WIRESEAL_KAFKA_LIBS, else <repo>/.toolchain/kafka/libs).
 * @property {string} [java] Java executable (default: $JAVA_HOME/bin/java, else `java` on PATH).
 * @property {(line: string) => void} [onLog] Receives this library's own progress messages
 *   (the broker's log goes to `<logDir>/logs/server.log`).
 */

/**
 * @typedef {object} KafkaHandle
 * @property {string[]} brokers e.g. ['127.0.0.1:40123']
 * @property {string} logDir Broker working dir ('' for an external cluster).
 * @property {string} serverLog Path of the broker's log file ('' for an external cluster).
 * @property {boolean} external True when WIRESEAL_KAFKA_BROKERS points at an existing cluster.
 * @property {() => Promise<void>} stop Stops the broker (SIGTERM, then SIGKILL after stopTimeoutMs); idempotent.
 * @property {() => Promise<void>} restart Stops then starts the broker on the same ports and dir; data is kept.
 */

/** @returns {string[] | undefined} */
function externalBrokers() {
  const raw = process.env.WIRESEAL_KAFKA_BROKERS;
  if (!raw || !raw.trim()) return undefined;
  return raw.split(',').map((s) => s.trim()).filter(Boolean);
}

/** @param {string | undefined} override */
function libsDirOf(override) {
  return override ?? process.env.WIRESEAL_KAFKA_LIBS ?? path.join(REPO_ROOT, '.toolchain', 'kafka', 'libs');
}

/** @param {string | undefined} override @returns {string | undefined} */
function findJava(override) {
  /** @param {string} p */
  const isExe = (p) => {
    try {
      fs.accessSync(p, fs.constants.X_OK);
      return fs.statSync(p).isFile();
    } catch {
      return false;
    }
  };
  if (override) return isExe(override) ? override : undefined;
  if (process.env.JAVA_HOME) {
    const p = path.join(process.env.JAVA_HOME, 'bin', 'java');
    if (isExe(p)) return p;
  }
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (!dir) continue;
    const p = path.join(dir, 'java');
    if (isExe(p)) return p;
  }
  return undefined;
}

/** @param {string} libs */
function hasKafkaJars(libs) {
  try {
    return fs.readdirSync(libs).some((f) => /^kafka_2\.13-.*\.jar$/.test(f));
  } catch {
    return false;
  }
}

/**
 * Can a broker be had here? True when WIRESEAL_KAFKA_BROKERS is set, or when java and the Kafka jars are present.
 * @param {{ libsDir?: string, java?: string }} [options]
 * @returns {{ ok: true } | { ok: false, reason: string }}
 */
export function kafkaAvailable(options = {}) {
  if (externalBrokers()) return { ok: true };
  if (!findJava(options.java)) {
    return { ok: false, reason: 'java not found (set JAVA_HOME or put java on PATH; Java 17+ runs the local Kafka broker)' };
  }
  const libs = libsDirOf(options.libsDir);
  if (!hasKafkaJars(libs)) {
    return { ok: false, reason: `Kafka jars not found in ${libs} (run tooling/local-kafka/fetch-jars.sh or scripts/setup.sh)` };
  }
  return { ok: true };
}

// ---------------------------------------------------------------------------------------------
// Every live child is killed when this Node process exits or is signalled (@wireseal-tooling/child-reaper).

// ---------------------------------------------------------------------------------------------

/**
 * Distinct free ports on 127.0.0.1 (all held open while picking, so they differ).
 * @param {number} count
 * @returns {Promise<number[]>}
 */
async function freePorts(count) {
  /** @type {net.Server[]} */
  const servers = [];
  try {
    for (let i = 0; i < count; i++) {
      const srv = net.createServer();
      servers.push(srv);
      srv.listen(0, '127.0.0.1');
      await once(srv, 'listening');
    }
    return servers.map((s) => /** @type {net.AddressInfo} */ (s.address()).port);
  } finally {
    await Promise.all(servers.map((s) => new Promise((r) => s.close(() => r(undefined)))));
  }
}

/** @param {string} file @param {number} lines */
function tail(file, lines) {
  try {
    const text = fs.readFileSync(file, 'utf8');
    return text.split('\n').slice(-lines - 1).join('\n').trimEnd();
  } catch {
    return '(no log)';
  }
}

/** @param {string} file @returns {string | undefined} */
function readClusterId(file) {
  try {
    const m = /^cluster\.id=(.+)$/m.exec(fs.readFileSync(file, 'utf8'));
    return m ? m[1].trim() : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Sends a Metadata v1 request (no topics) and resolves to the number of live brokers in the answer;
 * rejects when the broker does not accept connections or answers garbage.
 * @param {number} port
 * @param {number} timeoutMs
 * @returns {Promise<number>}
 */
function probeMetadata(port, timeoutMs) {
  return new Promise((resolve, reject) => {
    const clientId = Buffer.from('local-kafka-probe');
    const body = Buffer.alloc(2 + 2 + 4 + 2 + clientId.length + 4);
    let o = 0;
    o = body.writeInt16BE(3, o); // api key: Metadata
    o = body.writeInt16BE(1, o); // api version 1
    o = body.writeInt32BE(1, o); // correlation id
    o = body.writeInt16BE(clientId.length, o);
    o += clientId.copy(body, o);
    body.writeInt32BE(0, o); // topics: [] (v1: empty = none, we only want the brokers)
    const size = Buffer.alloc(4);
    size.writeInt32BE(body.length);

    const sock = net.connect({ host: '127.0.0.1', port });
    /** @type {Buffer[]} */
    const chunks = [];
    let got = 0;
    const done = (/** @type {Error | null} */ err, /** @type {number} */ n = 0) => {
      clearTimeout(timer);
      sock.destroy();
      if (err) reject(err);
      else resolve(n);
    };
    const timer = setTimeout(() => done(new Error('metadata probe timed out')), timeoutMs);
    sock.on('connect', () => sock.write(Buffer.concat([size, body])));
    sock.on('error', (e) => done(e));
    sock.on('close', () => done(new Error('connection closed before a metadata response')));
    sock.on('data', (d) => {
      chunks.push(d);
      got += d.length;
      if (got < 12) return; // size, correlation id, brokers array length
      const buf = Buffer.concat(chunks);
      if (buf.readInt32BE(4) !== 1) return done(new Error('bad correlation id in metadata response'));
      done(null, buf.readInt32BE(8));
    });
  });
}

/**
 * A Kafka Uuid as StorageTool wants it: 16 random bytes, base64url, 22 chars. Like Kafka's own
 * Uuid.randomUuid(), never one starting with '-': argparse4j would take `-t -abc...` for an option.
 */
function newClusterId() {
  for (;;) {
    const id = randomBytes(16).toString('base64url');
    if (!id.startsWith('-')) return id;
  }
}

/** @param {number} ms */
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** @param {Record<string, string | number | boolean>} props */
const toProperties = (props) =>
  Object.entries(props)
    .map(([k, v]) => `${k}=${String(v)}`)
    .join('\n') + '\n';

const DEFAULT_JVM_ARGS = ['-Xms256m', '-Xmx512m', '-XX:+UseSerialGC', '-XX:TieredStopAtLevel=1', '-Xss512k'];

/**
 * Starts a single-node KRaft Kafka broker on 127.0.0.1 (or returns a handle to the cluster named by
 * WIRESEAL_KAFKA_BROKERS). Resolves once a Metadata request lists the broker.
 * @param {StartKafkaOptions} [options]
 * @returns {Promise<KafkaHandle>}
 */
export async function startKafka(options = {}) {
  const ext = externalBrokers();
  if (ext) {
    return { brokers: ext, logDir: '', serverLog: '', external: true, stop: async () => {}, restart: async () => {} };
  }

  const log = options.onLog ?? (() => {});
  const java = findJava(options.java);
  if (!java) throw new Error('local-kafka: java not found (set JAVA_HOME or put java on PATH)');
  const libs = libsDirOf(options.libsDir);
  if (!hasKafkaJars(libs)) {
    throw new Error(`local-kafka: Kafka jars not found in ${libs} (run tooling/local-kafka/fetch-jars.sh)`);
  }
  const classpath = path.join(libs, '*');
  const timeoutMs = options.timeoutMs ?? 90_000;
  const stopTimeoutMs = options.stopTimeoutMs ?? 30_000;
  const jvmArgs = options.jvmArgs ?? DEFAULT_JVM_ARGS;

  const ownDir = !options.logDir;
  const logDir = options.logDir ? path.resolve(options.logDir) : fs.mkdtempSync(path.join(os.tmpdir(), 'wireseal-kafka-'));
  const keep = !ownDir || !!options.keepLogDir || process.env.WIRESEAL_KAFKA_KEEP_LOGS === '1';
  const dataDir = path.join(logDir, 'data');
  const logsDir = path.join(logDir, 'logs');
  const serverLog = path.join(logsDir, 'server.log');
  const stdoutLog = path.join(logsDir, 'stdout.log');
  const propsFile = path.join(logDir, 'server.properties');
  const log4jFile = path.join(logDir, 'log4j.properties');
  fs.mkdirSync(dataDir, { recursive: true });
  fs.mkdirSync(logsDir, { recursive: true });

  let port = options.port;
  let controllerPort = options.controllerPort;
  if (port === undefined || controllerPort === undefined) {
    const [a, b] = await freePorts(2);
    port ??= a;
    controllerPort ??= b === port ? a : b;
  }

  const nodeId = 1;
  fs.writeFileSync(
    propsFile,
    toProperties({
      'process.roles': 'broker,controller',
      'node.id': nodeId,
      'controller.quorum.voters': `${nodeId}@127.0.0.1:${controllerPort}`,
      listeners: `PLAINTEXT://127.0.0.1:${port},CONTROLLER://127.0.0.1:${controllerPort}`,
      'advertised.listeners': `PLAINTEXT://127.0.0.1:${port}`,
      'controller.listener.names': 'CONTROLLER',
      'inter.broker.listener.name': 'PLAINTEXT',
      'listener.security.protocol.map': 'PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT',
      'log.dirs': dataDir,
      'num.partitions': 1,
      'default.replication.factor': 1,
      'auto.create.topics.enable': true,
      'offsets.topic.replication.factor': 1,
      'offsets.topic.num.partitions': 1,
      'transaction.state.log.replication.factor': 1,
      'transaction.state.log.min.isr': 1,
      'transaction.state.log.num.partitions': 1,
      'group.initial.rebalance.delay.ms': 0,
      'num.network.threads': 2,
      'num.io.threads': 2,
      'num.recovery.threads.per.data.dir': 1,
      'background.threads': 2,
      ...(options.config ?? {}),
    }),
  );
  fs.writeFileSync(
    log4jFile,
    toProperties({
      'log4j.rootLogger': 'INFO, file',
      'log4j.appender.file': 'org.apache.log4j.RollingFileAppender',
      'log4j.appender.file.File': serverLog,
      'log4j.appender.file.MaxFileSize': '20MB',
      'log4j.appender.file.MaxBackupIndex': 1,
      'log4j.appender.file.layout': 'org.apache.log4j.PatternLayout',
      'log4j.appender.file.layout.ConversionPattern': '[%d] %p %m (%c)%n',
      'log4j.logger.state.change.logger': 'WARN',
      'log4j.logger.kafka.request.logger': 'WARN',
      'log4j.logger.org.apache.kafka.clients': 'WARN',
    }),
  );

  const baseJvm = [
    ...jvmArgs,
    '-Djava.awt.headless=true',
    `-Dlog4j.configuration=file:${log4jFile}`,
    `-Dkafka.logs.dir=${logsDir}`,
    '-cp',
    classpath,
  ];

  /** Runs a short-lived JVM tool, output into stdout.log; rejects on non-zero exit. */
  const runTool = async (/** @type {string[]} */ args) => {
    const out = fs.openSync(stdoutLog, 'a');
    try {
      const child = spawn(java, [...baseJvm, ...args], { stdio: ['ignore', out, out] });
      const entry = { kill: () => child.kill('SIGKILL') };
      track(entry);
      try {
        const [code, sig] = await once(child, 'exit');
        if (code !== 0) {
          throw new Error(`local-kafka: ${args[0]} failed (exit ${code ?? sig}):\n${tail(stdoutLog, 30)}`);
        }
      } finally {
        untrack(entry);
      }
    } finally {
      fs.closeSync(out);
    }
  };

  /** @type {import('node:child_process').ChildProcess | undefined} */
  let proc;
  /** @type {Promise<unknown> | undefined} */
  let exited;
  /** @type {{ kill(): void } | undefined} */
  let liveEntry;
  let stopped = false;

  const startProcess = async () => {
    const t0 = Date.now();
    const out = fs.openSync(stdoutLog, 'a');
    const child = spawn(java, [...baseJvm, 'kafka.Kafka', propsFile], { stdio: ['ignore', out, out] });
    fs.closeSync(out);
    child.unref(); // a forgotten broker must not keep Node alive; the exit hook kills it
    proc = child;
    exited = once(child, 'exit').catch(() => undefined);
    // Watchdog: if this Node process dies without running its exit hooks (SIGKILL, crash), the pipe to
    // the watchdog closes, its `read` returns and it kills the JVM. stop() kills the watchdog first.
    const watchdog = spawn('/bin/sh', ['-c', 'read _x; kill -9 "$1" 2>/dev/null', 'local-kafka-watchdog', String(child.pid)], {
      stdio: ['pipe', 'ignore', 'ignore'],
    });
    watchdog.unref();
    watchdog.stdin?.on('error', () => {});
    /** @type {any} */ (watchdog.stdin)?.unref?.();
    liveEntry = {
      kill: () => {
        watchdog.kill('SIGKILL');
        child.kill('SIGKILL');
        if (!keep) fs.rmSync(logDir, { recursive: true, force: true });
      },
    };
    const killWatchdog = () => watchdog.kill('SIGKILL');
    child.once('exit', killWatchdog);
    track(liveEntry);
    log(`started JVM pid ${child.pid}: broker 127.0.0.1:${port}, controller 127.0.0.1:${controllerPort}`);

    let exitInfo = /** @type {string | undefined} */ (undefined);
    child.once('exit', (code, sig) => (exitInfo = `exit ${code ?? sig}`));
    const deadline = t0 + timeoutMs;
    let lastErr = '';
    while (Date.now() < deadline) {
      if (exitInfo) {
        untrack(liveEntry);
        throw new Error(
          `local-kafka: broker process ended during startup (${exitInfo}). Last lines of ${serverLog}:\n` +
            `${tail(serverLog, 40)}\n--- ${stdoutLog}:\n${tail(stdoutLog, 20)}`,
        );
      }
      try {
        const n = await probeMetadata(/** @type {number} */ (port), 2000);
        if (n > 0) {
          log(`broker ready in ${Date.now() - t0} ms`);
          return;
        }
        lastErr = 'metadata response lists no live broker yet';
      } catch (e) {
        lastErr = /** @type {Error} */ (e).message;
      }
      await sleep(100);
    }
    await stopProcess();
    throw new Error(
      `local-kafka: broker not ready after ${timeoutMs} ms (last probe: ${lastErr}). Last lines of ${serverLog}:\n` +
        tail(serverLog, 40),
    );
  };

  const stopProcess = async () => {
    const child = proc;
    if (!child) return;
    proc = undefined;
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      /** @type {NodeJS.Timeout | undefined} */
      let timer;
      const timeout = new Promise((r) => (timer = setTimeout(r, stopTimeoutMs, 'timeout')));
      const outcome = await Promise.race([exited, timeout]);
      clearTimeout(timer);
      if (outcome === 'timeout') {
        log(`broker did not stop within ${stopTimeoutMs} ms, sending SIGKILL`);
        child.kill('SIGKILL');
        await exited;
      }
    }
    if (liveEntry) untrack(liveEntry);
    liveEntry = undefined;
  };

  try {
    // Format the storage unless this dir already holds a formatted broker (then its data is reused).
    const metaFile = path.join(dataDir, 'meta.properties');
    if (!readClusterId(metaFile)) {
      const clusterId = newClusterId();
      const t0 = Date.now();
      log(`formatting KRaft storage in ${dataDir} (cluster ${clusterId})`);
      await runTool(['kafka.tools.StorageTool', 'format', '-t', clusterId, '-c', propsFile, '--ignore-formatted']);
      log(`formatted in ${Date.now() - t0} ms`);
    }
    await startProcess();
  } catch (e) {
    if (!keep) fs.rmSync(logDir, { recursive: true, force: true });
    throw e;
  }

  return {
    brokers: [`127.0.0.1:${port}`],
    logDir,
    serverLog,
    external: false,
    async stop() {
      if (stopped) return;
      stopped = true;
      const t0 = Date.now();
      await stopProcess();
      log(`broker stopped in ${Date.now() - t0} ms`);
      if (!keep) fs.rmSync(logDir, { recursive: true, force: true });
    },
    async restart() {
      if (stopped) throw new Error('local-kafka: restart() after stop()');
      const t0 = Date.now();
      await stopProcess();
      log(`broker stopped for restart in ${Date.now() - t0} ms`);
      await startProcess();
    },
  };
}
