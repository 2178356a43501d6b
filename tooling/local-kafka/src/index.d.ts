/**
 * A throw-away, single-node Apache Kafka broker (KRaft, combined broker+controller) on 127.0.0.1 for tests,
 * or a handle to an existing cluster named by the WIRESEAL_KAFKA_BROKERS environment variable.
 */

export interface StartKafkaOptions {
  /**
   * Working dir of the broker (created if missing). Holds `data/` (Kafka's `log.dirs`), `logs/server.log`
   * (broker log), `logs/stdout.log` (JVM stdout/stderr), `server.properties` and `log4j.properties`.
   * Default: a fresh temp dir, removed by `stop()` unless `keepLogDir`. A dir given here is never removed,
   * and if it already holds a formatted broker its data is reused.
   */
  logDir?: string;
  /** Keep the temp dir after `stop()` (also: env WIRESEAL_KAFKA_KEEP_LOGS=1). */
  keepLogDir?: boolean;
  /** Broker (PLAINTEXT) port. Default: a free port on 127.0.0.1. */
  port?: number;
  /** Controller port. Default: a free port on 127.0.0.1. */
  controllerPort?: number;
  /** Extra or overriding `server.properties` entries, e.g. `{ 'log.retention.ms': 60000 }`. */
  config?: Record<string, string | number | boolean>;
  /** How long to wait for the broker to answer a Metadata request. Default 90000. */
  timeoutMs?: number;
  /** How long `stop()` waits after SIGTERM before SIGKILL. Default 30000. */
  stopTimeoutMs?: number;
  /** JVM options, replacing the defaults (`-Xms256m -Xmx512m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Xss512k`). */
  jvmArgs?: string[];
  /** Kafka jars dir. Default: $WIRESEAL_KAFKA_LIBS, else `<repo>/.toolchain/kafka/libs`. */
  libsDir?: string;
  /** Java executable. Default: `$JAVA_HOME/bin/java`, else `java` on PATH. */
  java?: string;
  /** Receives this library's own progress messages. The library never writes to stdout/stderr. */
  onLog?: (line: string) => void;
}

export interface KafkaHandle {
  /** Bootstrap servers, e.g. `['127.0.0.1:40123']` (or the WIRESEAL_KAFKA_BROKERS list). */
  brokers: string[];
  /** The broker's working dir (`''` for an external cluster). */
  logDir: string;
  /** Path of the broker's log file (`''` for an external cluster). */
  serverLog: string;
  /** True when WIRESEAL_KAFKA_BROKERS points at an existing cluster; then stop/restart do nothing. */
  external: boolean;
  /** SIGTERM, wait for exit (SIGKILL after `stopTimeoutMs`), remove the temp dir. Idempotent. */
  stop(): Promise<void>;
  /** Stop, then start again on the same ports and dir; data is kept. Resolves when ready again. */
  restart(): Promise<void>;
}

/** True when WIRESEAL_KAFKA_BROKERS is set, or java and the Kafka jars are present. */
export function kafkaAvailable(options?: { libsDir?: string; java?: string }): { ok: true } | { ok: false; reason: string };

/** Starts a broker (or returns a handle to WIRESEAL_KAFKA_BROKERS); resolves once it answers a Metadata request. */
export function startKafka(options?: StartKafkaOptions): Promise<KafkaHandle>;
