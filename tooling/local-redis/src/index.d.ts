/**
 * A throw-away redis-server on a free 127.0.0.1 port, for tests and benchmarks: no persistence
 * (`--save '' --appendonly no`), so every stop() loses all keys. Never writes to the console.
 */

/** Options for {@link startRedis}. */
export interface StartRedisOptions {
  /** Port on 127.0.0.1; default: a free one (found by binding port 0). */
  port?: number;
  /** The redis-server executable; default `$WIRESEAL_REDIS_SERVER`, else `redis-server` on PATH. */
  redisServer?: string;
  /** How long to wait until redis-server answers PING; default 10000. */
  timeoutMs?: number;
  /** Extra command-line arguments, e.g. `['--maxmemory', '64mb']`. */
  args?: string[];
  /** Receives this module's own progress messages (never printed). */
  onLog?: (line: string) => void;
}

/** A running (or stopped) redis-server. */
export interface RedisHandle {
  /** e.g. `redis://127.0.0.1:40123`; stays the same across stop()/start(). */
  readonly url: string;
  readonly host: string;
  readonly port: number;
  /** The redis-server process id while it runs (e.g. to read its CPU time), else undefined. */
  readonly pid: number | undefined;
  /** redis-server's log file (removed by stop()). */
  readonly logFile: string;
  /** Stops redis-server (every key is lost): SIGTERM, SIGKILL after 5 s; `'SIGKILL'` to crash it. Idempotent. */
  stop(signal?: 'SIGTERM' | 'SIGKILL'): Promise<void>;
  /** Starts redis-server again on the same port after stop(); no-op while running. */
  start(): Promise<void>;
  /** Freezes the process (SIGSTOP): connections stay open, nothing is answered. */
  pause(): void;
  /** Resumes a paused process (SIGCONT). */
  resume(): void;
  /** True while the process is up (also while paused). */
  running(): boolean;
}

/** Can redis-server be started here? (`ok: false` names the fix: run `./dev setup` as root, or install Debian's `redis-server`.) */
export declare function redisAvailable(options?: { redisServer?: string }): { ok: true } | { ok: false; reason: string };

/**
 * Starts redis-server on 127.0.0.1 and resolves once it answers PING. The process is killed when
 * this Node process exits or is signalled (@wireseal-tooling/child-reaper), and by a watchdog if
 * Node dies hard. Rejects with an error naming `./dev setup` when redis-server is missing.
 */
export declare function startRedis(options?: StartRedisOptions): Promise<RedisHandle>;
