import type { ChildProcess } from 'node:child_process';

/** True when `p` is an executable file. */
/** What a service starts with: its start timeout, its port, a work directory with its log file. */
export declare function scratch(
  options: { port?: number; timeoutMs?: number },
  name: string,
  defaultTimeoutMs: number,
): Promise<{
  timeoutMs: number;
  fixedPort: boolean;
  port: number;
  dir: string;
  logFile: string;
  removeDir: () => void;
  proc: ChildProcess | undefined;
  supervised: Supervised | undefined;
}>;
export declare function isExecutable(p: string): boolean;
/** A free TCP port on `host` (default 127.0.0.1). */
export declare function freePort(host?: string): Promise<number>;
export declare function sleep(ms: number): Promise<void>;
/** The last `lines` lines of a log file, or `(no log)`. */
export declare function tail(file: string, lines: number): string;

/** A supervised server child (see {@link supervise}). */
export interface Supervised {
  readonly exited: Promise<unknown>;
  exitInfo(): string | undefined;
  /** `signal` (default SIGTERM), SIGKILL after `timeoutMs` (default 5000); then unregisters the child. */
  stop(signal?: NodeJS.Signals, timeoutMs?: number): Promise<void>;
  /** Unregisters the child from the reaper. */
  release(): void;
}
/** unref()s the child, registers it with the reaper and starts a watchdog that kills it if Node dies hard. */
export declare function supervise(child: ChildProcess, label: string, onKill?: () => void): Supervised;
/** Retries a start: three tries on fresh ports, or until `budgetMs` on a fixed one. */
export declare function retryStart(
  attempt: () => Promise<void>,
  how: { fixedPort: boolean; nextPort?: () => Promise<void>; budgetMs?: number; pauseMs?: number },
): Promise<void>;
/** Waits until `probe` resolves to undefined (ready); throws when the child ends first or after `timeoutMs` from `t0`. */
export declare function awaitReady(
  watched: Supervised,
  probe: () => Promise<string | undefined>,
  how: { name: string; logFile: string; t0: number; timeoutMs: number; pauseMs: number },
): Promise<void>;

/** The scratch of a service (see {@link scratch}). */
export type Work = Awaited<ReturnType<typeof scratch>>;

/** What a local service is: its command line, its readiness probe, and its names. */
export interface ServiceSpec {
  /** Short name: the server's name in messages, wireseal-NAME-* directory, NAME.log. */
  name: string;
  /** The launcher's label (e.g. local-redis) in messages and the watchdog's name. */
  label: string;
  defaultTimeoutMs: number;
  /** Starts the server on `port`, writing its log to `work.logFile`. */
  spawn(port: number, work: Work): ChildProcess;
  /** Resolves when the server answers; rejects, or resolves to a reason, while it does not. */
  probe(port: number): Promise<string | void>;
  pauseMs?: number;
  /** Signal used when a start attempt fails (default the watchdog's). */
  killSignal?: NodeJS.Signals;
  /** Send SIGCONT before stopping (for servers a test may have paused). */
  resumeBeforeStop?: boolean;
  log?: (line: string) => void;
}

/** A started local service. */
export interface Service {
  work: Work;
  running(): boolean;
  stop(signal?: NodeJS.Signals): Promise<void>;
  restart(pauseMs: number): Promise<void>;
}

/** Starts a supervised server child on a loopback port and waits until it answers. */
export declare function startService(options: { port?: number; timeoutMs?: number }, spec: ServiceSpec): Promise<Service>;
