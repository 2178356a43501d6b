/**
 * A throw-away AWS Secrets Manager API (moto_server from the project's virtualenv) on a free
 * 127.0.0.1 port, for tests and demos. moto keeps state in memory: after stop()/start() every
 * secret is gone. Never writes to the console.
 */

/** Options for {@link startSecretsManager}. */
export interface StartSecretsManagerOptions {
  /** Port on 127.0.0.1; default: a free one (found by binding port 0). */
  port?: number;
  /** Python with moto[server]; default `$WIRESEAL_PYTHON`, else `<repo>/.toolchain/venv/bin/python`. */
  python?: string;
  /** How long to wait until moto answers HTTP; default 30000. */
  timeoutMs?: number;
  /** Receives this module's own progress messages (never printed). */
  onLog?: (line: string) => void;
  /**
   * Extra environment for moto_server, e.g. `{ INITIAL_NO_AUTH_ACTION_COUNT: '0' }`: moto then
   * enforces IAM (requests must be signed by an IAM user's access key and allowed by its policies).
   */
  env?: Record<string, string>;
}

/** `{ endpoint, region, credentials }`: spread into an AWS SDK v3 client's config. */
export interface AwsClientConfig {
  endpoint: string;
  region: string;
  credentials: { accessKeyId: string; secretAccessKey: string };
}

/** A running (or stopped) moto_server. */
export interface SecretsManagerHandle {
  /** e.g. `http://127.0.0.1:40123`; stays the same across stop()/start(). */
  readonly endpoint: string;
  readonly port: number;
  /** Always `us-east-1`. */
  readonly region: string;
  /** Dummy credentials moto accepts. */
  readonly credentials: { readonly accessKeyId: string; readonly secretAccessKey: string };
  /** moto's stdout/stderr log (removed by stop()). */
  readonly logFile: string;
  /** A fresh `{ endpoint, region, credentials }` for an AWS SDK v3 client. */
  clientConfig(): AwsClientConfig;
  /** Stops moto (its state is lost) and removes its log; idempotent. */
  stop(): Promise<void>;
  /** Starts moto again on the same port after stop(); no-op while running. */
  start(): Promise<void>;
  /** Deletes all state (moto's `/moto-api/reset`) without a restart. */
  reset(): Promise<void>;
  /** True while the moto process is up. */
  running(): boolean;
}

/** Can moto_server be started here? (`ok: false` names the fix: run `./dev setup`.) */
export declare function secretsManagerAvailable(options?: { python?: string }): { ok: true } | { ok: false; reason: string };

/**
 * Starts moto_server on 127.0.0.1 and resolves once it answers HTTP. The process is killed when
 * this Node process exits. Rejects with an error naming `./dev setup` when the virtualenv is missing.
 */
export declare function startSecretsManager(options?: StartSecretsManagerOptions): Promise<SecretsManagerHandle>;
