/**
 * The gateway: per-service payload encryption in front of plaintext
 * services, in the style of a managed API platform's "payload encryption"
 * switch.
 *
 * For an enabled service it opens the request body with the service's key
 * (field or whole mode, through @wireseal/http's codec) and forwards
 * plaintext; a body that does not open is answered with problem+json and
 * never forwarded. The upstream's response is sealed before it leaves. For a
 * disabled service, bytes pass through untouched both ways. The configuration
 * file is watched: a toggle or a key change applies to the next request,
 * without a restart; a bad file is reported and the last good one stays.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { currentKeys } from '@wireseal/core';
import type { CombinedKeySourceHealth, KeySource } from '@wireseal/core';
import { probeAnswer, serviceHealth } from '@wireseal-apps/shared/health';
import { LimitExceededError, WiresealError } from '@wireseal/core/errors';
import { HttpCodec } from '@wireseal/http/codec';
import type { CompiledRoute, DecodedRequest, EncodedResponse, Exchange } from '@wireseal/http/codec';
import type { ReplayStore } from '@wireseal/http';
import type { KeyringEntryJson, ServiceConfig, ServiceConfigJson } from './config.ts';
import { matchService, parseGatewayConfig } from './config.ts';
import { forwardableHeaders, readAll, sendUpstream, upstreamUrl } from './forward.ts';
import { serviceKeyProvider, serviceKeyring } from './service-keys.ts';
import { startAdmin } from './admin.ts';
import type { Admin, AdminOptions } from './admin.ts';

/** Options for {@link startGateway}. */
export interface GatewayOptions {
  /** Path of the JSON configuration file (see `config.ts`). Watched for changes. */
  configFile: string;
  /** The gateway's key store (a provider or a KeySet); services pick one key from it by id. */
  keys: KeySource;
  /**
   * Where whole-mode tokens are remembered against replay. Default: in memory, this process
   * only. Pass a `RedisReplayStore` (`@wireseal/http/redis`) shared by every gateway instance
   * so that a token accepted by one is refused (`ERR_REPLAY`) by all the others.
   */
  replay?: ReplayStore;
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 0: a free port. */
  port?: number;
  /** How often the configuration file's metadata is polled, in ms (besides fs.watch). Default 250. */
  watchIntervalMs?: number;
  /** Upstream timeout in ms. Default 30000. */
  upstreamTimeoutMs?: number;
  /** Largest upstream response the gateway buffers to seal, in bytes. Default 8 MiB. */
  maxResponseBytes?: number;
  /** Operational events: configuration loads and rejections, refused requests, upstream errors. Never plaintext or key bytes. */
  onEvent?: (event: GatewayEvent) => void;
  /** What `GET /readyz` reports. Default: the health of the key store (`keys`). */
  health?: () => CombinedKeySourceHealth;
  /**
   * The admin listener (API and console page at `/admin/`) on its own address, loopback by
   * default. Without it (no token) there is no admin listener. See `admin.ts`.
   */
  admin?: AdminOptions;
}

/** What a service looks like from the outside: its configuration with defaults applied, without the policy (no key material: ids only). */
export type ServiceSummary = Pick<ServiceConfigJson, 'name' | 'routePrefix' | 'upstream' | 'enabled' | 'keyId' | 'mode'> &
  Required<Pick<ServiceConfigJson, 'encryption' | 'acceptKeyIds'>> & {
    /** Audience → its key ids, for a service with a keyring (instead of `keyId`). */
    keyring?: Record<string, Required<KeyringEntryJson>>;
  };

/** Events the gateway reports. */
export type GatewayEvent =
  | { type: 'config-loaded'; version: number; services: ServiceSummary[] }
  | { type: 'config-rejected'; code: string; message: string; keptVersion: number }
  | { type: 'request-refused'; service: string; phase: 'request' | 'response'; status: number; code: string }
  | { type: 'upstream-error'; service: string; message: string }
  | { type: 'admin-change'; service: string; version: number; members: string[] }
  | { type: 'admin-audit-error'; message: string };

/** Per-service counters. */
export interface ServiceStats {
  requests: number;
  /** Sealed requests opened and forwarded as plaintext. */
  decrypted: number;
  /** Plaintext requests forwarded on `optional` services (migration in progress). */
  passedThrough: number;
  /** Requests of disabled services, forwarded untouched. */
  untouched: number;
  /** Requests refused with a problem (never forwarded), by code. */
  refusedByCode: Record<string, number>;
  /** Requests sent upstream. */
  forwarded: number;
  /** Responses sealed on the way back. */
  responsesSealed: number;
  upstreamErrors: number;
}

/** A running gateway. */
export interface Gateway {
  readonly url: string;
  /** The admin listener's base URL (console at `<adminUrl>/admin/`), when `admin` was given. */
  readonly adminUrl: string | undefined;
  /** Version of the configuration in force (1 after start, +1 per successful reload). */
  version(): number;
  services(): ServiceSummary[];
  stats(): Record<string, ServiceStats>;
  /** Re-reads the configuration file now; resolves true when a new version is in force. */
  reload(): Promise<boolean>;
  stop(): Promise<void>;
}

interface Loaded {
  version: number;
  hash: string;
  text: string;
  loadedAt: string;
  services: ServiceConfig[];
  routes: Map<string, CompiledRoute>;
}

function summary(s: ServiceConfig): ServiceSummary {
  const keys = s.keyring
    ? { keyring: Object.fromEntries(Object.entries(s.keyring).map(([a, r]) => [a, { keyId: r.keyId, acceptKeyIds: [...r.acceptKeyIds] }])) }
    : { keyId: s.keyId! };
  return { name: s.name, routePrefix: s.routePrefix, upstream: s.upstream.href, enabled: s.enabled, ...keys, mode: s.mode, encryption: s.encryption, acceptKeyIds: [...s.acceptKeyIds] };
}

function gatewayProblem(res: ServerResponse, status: number, code: string, title: string, detail: string): void {
  const body = JSON.stringify({ type: `urn:wireseal-apps:gateway:${code.toLowerCase()}`, title, status, code, detail });
  res.writeHead(status, { 'content-type': 'application/problem+json', 'cache-control': 'no-store', 'content-length': Buffer.byteLength(body) }).end(body);
}

/** Drops the whole-payload media types (`application/jose`, …) from an `Accept` header: they are for the gateway, not the upstream. */
function upstreamAccept(accept: string | undefined, sealedTypes: ReadonlySet<string>): string | undefined {
  if (!accept) return undefined;
  const kept = accept.split(',').map((p) => p.trim()).filter((p) => p && !sealedTypes.has(p.split(';')[0]!.trim().toLowerCase()));
  return kept.length > 0 ? kept.join(', ') : undefined;
}

/** Starts the gateway; rejects when the configuration file is missing or invalid. */
export async function startGateway(options: GatewayOptions): Promise<Gateway> {
  const emit = (e: GatewayEvent): void => {
    try {
      options.onEvent?.(e);
    } catch {
      /* a hook's failure is the hook's business */
    }
  };
  const configFile = path.resolve(options.configFile);
  const upstreamTimeoutMs = options.upstreamTimeoutMs ?? 30_000;
  const maxResponseBytes = options.maxResponseBytes ?? 8 * 1024 * 1024;
  const stats = new Map<string, ServiceStats>();
  const statsFor = (name: string): ServiceStats => {
    let s = stats.get(name);
    if (!s) stats.set(name, (s = { requests: 0, decrypted: 0, passedThrough: 0, untouched: 0, refusedByCode: {}, forwarded: 0, responsesSealed: 0, upstreamErrors: 0 }));
    return s;
  };
  const codec = new HttpCodec({ keys: options.keys, ...(options.replay ? { replay: options.replay } : {}) });
  const sealedTypes = new Set(codec.profiles.keys());
  const health = options.health ?? (() => serviceHealth({ keys: options.keys }));
  /** Answers a failure with the codec's problem+json, counted and reported per service. */
  const refuse = (res: ServerResponse, service: string, exchange: Exchange, err: unknown, phase: 'request' | 'response', closeConnection: boolean): void => {
    const p = exchange.problem(err, phase);
    const st = statsFor(service);
    st.refusedByCode[p.problem.code] = (st.refusedByCode[p.problem.code] ?? 0) + 1;
    emit({ type: 'request-refused', service, phase, status: p.status, code: p.problem.code });
    const headers: OutgoingHttpHeaders = { ...p.headers, 'content-length': Buffer.byteLength(p.body) };
    if (closeConnection) headers.connection = 'close'; // the rest of the request body was not read
    res.writeHead(p.status, headers).end(p.body);
  };

  const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex');
  const compile = (text: string, version: number, hash: string = sha256(text)): Loaded => {
    const services = parseGatewayConfig(text, currentKeys(options.keys));
    const routes = new Map<string, CompiledRoute>();
    for (const s of services) {
      routes.set(s.name, codec.route({
        mode: s.mode,
        encryption: s.encryption,
        keys: s.keyring ? serviceKeyring(options.keys, s.keyring) : serviceKeyProvider(options.keys, s.keyId!, s.acceptKeyIds),
        ...(s.policy ? { policy: s.policy } : {}),
        ...(s.maxBodyBytes !== undefined ? { maxBodyBytes: s.maxBodyBytes } : {}),
      }));
    }
    return { version, hash, text, loadedAt: new Date().toISOString(), services, routes };
  };

  let current = compile(fs.readFileSync(configFile, 'utf8'), 1);
  let lastError: { code: string; message: string; at: string } | undefined;
  let attemptedHash = current.hash;
  emit({ type: 'config-loaded', version: 1, services: current.services.map(summary) });

  const doReload = async (force: boolean): Promise<boolean> => {
    let text: string;
    try {
      text = await fs.promises.readFile(configFile, 'utf8');
    } catch (err) {
      const code = (err as { code?: string }).code ?? 'EIO';
      if (code === 'ENOENT' && !force) return false; // mid-rename; the next event brings the new file
      lastError = { code: 'ERR_POLICY_INVALID', message: `gateway config: cannot read the file (${code})`, at: new Date().toISOString() };
      emit({ type: 'config-rejected', code: lastError.code, message: lastError.message, keptVersion: current.version });
      return false;
    }
    const hash = sha256(text);
    if (!force && hash === attemptedHash) return false;
    attemptedHash = hash;
    try {
      current = compile(text, current.version + 1, hash);
      lastError = undefined;
      emit({ type: 'config-loaded', version: current.version, services: current.services.map(summary) });
      return true;
    } catch (err) {
      const code = err instanceof WiresealError ? err.code : 'ERR_POLICY_INVALID';
      const message = err instanceof WiresealError ? err.message : 'gateway config: invalid';
      lastError = { code, message, at: new Date().toISOString() };
      emit({ type: 'config-rejected', code, message, keptVersion: current.version });
      return false;
    }
  };
  let chain: Promise<boolean> = Promise.resolve(false);
  const reload = (force: boolean): Promise<boolean> => (chain = chain.then(() => doReload(force), () => doReload(force)));

  const onFileEvent = (): void => void reload(false);
  fs.watchFile(configFile, { interval: options.watchIntervalMs ?? 250, persistent: false }, onFileEvent);
  let dirWatcher: fs.FSWatcher | undefined;
  try {
    dirWatcher = fs.watch(path.dirname(configFile), { persistent: false }, (_type, name) => {
      if (!name || name === path.basename(configFile)) onFileEvent();
    });
    dirWatcher.on('error', () => undefined);
  } catch {
    /* polling alone still works */
  }

  const sendPlain = async (res: ServerResponse, upRes: IncomingMessage): Promise<void> => {
    res.writeHead(upRes.statusCode ?? 502, forwardableHeaders(upRes.headers));
    for await (const chunk of upRes) res.write(chunk);
    res.end();
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const rawUrl = req.url ?? '/';
    const q = rawUrl.indexOf('?');
    const reqPath = q < 0 ? rawUrl : rawUrl.slice(0, q);
    if (reqPath.startsWith('/_gateway/')) return admin(reqPath, res);
    // Probes, ahead of the services (a service cannot take these two paths): liveness, and the key store's readiness.
    const probe = probeAnswer(reqPath, health);
    if (probe) {
      const text = JSON.stringify(probe.body);
      return void res.writeHead(probe.status, { 'content-type': 'application/json', 'cache-control': 'no-store', 'content-length': Buffer.byteLength(text) }).end(text);
    }
    const state = current; // one configuration for the whole request
    const service = matchService(state.services, reqPath);
    if (!service) return gatewayProblem(res, 404, 'ROUTE_NOT_FOUND', 'No such service', 'no service is configured for this path');
    const st = statsFor(service.name);
    st.requests++;
    const target = upstreamUrl(service.upstream, service.routePrefix, rawUrl);
    const method = (req.method ?? 'GET').toUpperCase();

    if (!service.enabled) {
      st.untouched++;
      const hasBody = req.headers['content-length'] !== undefined && req.headers['content-length'] !== '0' || req.headers['transfer-encoding'] !== undefined;
      let upRes: IncomingMessage;
      try {
        upRes = await sendUpstream(target, method, forwardableHeaders(req.headers, ['host']), hasBody ? req : undefined, upstreamTimeoutMs);
      } catch (err) {
        st.upstreamErrors++;
        emit({ type: 'upstream-error', service: service.name, message: (err as Error).message });
        return gatewayProblem(res, 502, 'UPSTREAM_UNAVAILABLE', 'Upstream unavailable', `service ${service.name} did not answer`);
      }
      st.forwarded++;
      return sendPlain(res, upRes);
    }

    const route = state.routes.get(service.name)!;
    const exchange = codec.exchange(route, { method, path: reqPath, headers: req.headers });
    let decoded: DecodedRequest | undefined;
    try {
      const decision = exchange.inspect();
      if (decision.action !== 'pass') {
        const raw = await readAll(req, decision.limit, () => new LimitExceededError(`request body is over the limit of ${decision.limit} bytes`));
        decoded = await exchange.open(raw);
      }
    } catch (err) {
      return refuse(res, service.name, exchange, err, 'request', !req.readableEnded);
    }

    const headers = forwardableHeaders(req.headers, ['host', 'content-length', 'wireseal', 'accept', 'accept-encoding']);
    headers['accept-encoding'] = 'identity'; // the response must be readable to be sealed
    const accept = upstreamAccept(req.headers.accept, sealedTypes);
    if (accept) headers.accept = accept;
    let body: Uint8Array | IncomingMessage | undefined;
    if (decoded) {
      body = route.mode === 'fields' ? Buffer.from(JSON.stringify(decoded.body)) : decoded.plaintext!;
      headers['content-type'] = route.mode === 'fields' ? 'application/json' : decoded.info.contentType;
      headers['content-length'] = String(body.length);
      if (decoded.info.sealed) st.decrypted++;
      else st.passedThrough++;
    } else if (req.headers['content-length'] !== undefined || req.headers['transfer-encoding'] !== undefined) {
      body = req; // optional route, plaintext body of another media type: as it is
      if (req.headers['content-length'] !== undefined) headers['content-length'] = req.headers['content-length'];
      if (req.headers['content-length'] !== '0') st.passedThrough++;
    }

    let upRes: IncomingMessage;
    try {
      upRes = await sendUpstream(target, method, headers, body, upstreamTimeoutMs);
    } catch (err) {
      st.upstreamErrors++;
      emit({ type: 'upstream-error', service: service.name, message: (err as Error).message });
      return gatewayProblem(res, 502, 'UPSTREAM_UNAVAILABLE', 'Upstream unavailable', `service ${service.name} did not answer`);
    }
    st.forwarded++;
    const status = upRes.statusCode ?? 502;
    if (exchange.plan.kind === 'none') return sendPlain(res, upRes);
    let raw: Buffer;
    try {
      raw = await readAll(upRes, maxResponseBytes, () => new Error('too large'));
    } catch {
      st.upstreamErrors++;
      upRes.destroy();
      return gatewayProblem(res, 502, 'UPSTREAM_RESPONSE_TOO_LARGE', 'Upstream response too large', `the response of ${service.name} is over ${maxResponseBytes} bytes and cannot be sealed`);
    }
    const ct = upRes.headers['content-type'];
    let out: EncodedResponse | undefined;
    try {
      out = await exchange.seal(raw, ct, status);
    } catch (err) {
      return refuse(res, service.name, exchange, err, 'response', false);
    }
    const resHeaders = forwardableHeaders(upRes.headers, ['content-length']);
    let resBody: string | Uint8Array = raw;
    if (out) {
      st.responsesSealed++;
      resBody = out.body;
      resHeaders['content-type'] = out.contentType;
      delete resHeaders.etag;
      for (const [k, v] of Object.entries(out.headers ?? {})) resHeaders[k.toLowerCase()] = v;
    }
    resHeaders['content-length'] = typeof resBody === 'string' ? Buffer.byteLength(resBody) : resBody.length;
    res.writeHead(status, resHeaders).end(resBody);
  };

  const admin = (reqPath: string, res: ServerResponse): void => {
    let body: unknown;
    if (reqPath === '/_gateway/config') body = { version: current.version, loadedAt: current.loadedAt, services: current.services.map(summary), lastError: lastError ?? null };
    else if (reqPath === '/_gateway/stats') body = Object.fromEntries(stats);
    else if (reqPath === '/_gateway/health') body = { ok: true, version: current.version };
    if (body === undefined) return gatewayProblem(res, 404, 'ROUTE_NOT_FOUND', 'No such endpoint', 'unknown gateway endpoint');
    const text = JSON.stringify(body);
    res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store', 'content-length': Buffer.byteLength(text) }).end(text);
  };

  const server = http.createServer((req, res) => {
    handle(req, res).catch(() => {
      if (!res.headersSent) gatewayProblem(res, 500, 'ERR_INTERNAL', 'Internal error', 'internal error');
      else res.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', resolve);
  });
  const { address, port } = server.address() as AddressInfo;
  let adminServer: Admin | undefined;
  if (options.admin) {
    try {
      adminServer = await startAdmin({
        configFile,
        keys: options.keys,
        state: () => ({ version: current.version, hash: current.hash, text: current.text, loadedAt: current.loadedAt, lastError }),
        reload: () => reload(false), // loads the file unless it is the one in force (or was already refused)
        stats: () => structuredClone(Object.fromEntries(stats)),
        emit,
      }, options.admin);
    } catch (err) {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      fs.unwatchFile(configFile, onFileEvent);
      dirWatcher?.close();
      throw err;
    }
  }
  return {
    url: `http://${address}:${port}`,
    adminUrl: adminServer?.url,
    version: () => current.version,
    services: () => current.services.map(summary),
    stats: () => structuredClone(Object.fromEntries(stats)),
    reload: () => reload(true),
    async stop() {
      fs.unwatchFile(configFile, onFileEvent);
      dirWatcher?.close();
      await adminServer?.stop();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
