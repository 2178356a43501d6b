/**
 * The gateway's admin listener: a small JSON API and the console page that
 * uses it, on their own address (loopback by default), apart from the traffic
 * the gateway proxies.
 *
 * Every `/admin/api/*` call needs `Authorization: Bearer <token>`, compared in
 * constant time. A change to a service is validated exactly like the file
 * (`parseGatewayConfig` over the whole changed file, against the key store in
 * force), guarded by the service's ETag (`If-Match`, 412 when stale), written
 * atomically (temp file + fsync + rename + fsync of the directory), loaded
 * before the answer (the next request sees it, no restart), and appended to an
 * audit log of JSON lines (time, service, member: from → to; key ids only).
 *
 * The console page (`/admin/`) is static: a few ES modules, no build step, no
 * data in the HTML; it holds the token in memory and sends it as a header.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { currentKeys } from '@wireseal/core';
import type { KeySource } from '@wireseal/core';
import { WiresealError } from '@wireseal/core/errors';
import { GatewayConfigError, parseGatewayConfig } from './config.ts';

/** Options of the admin listener (`startGateway({ admin })`). */
export interface AdminOptions {
  /** The bearer token every API call must present. At least 16 characters. */
  token: string;
  /** Default 127.0.0.1 (loopback). */
  host?: string;
  /** Default 0: a free port. */
  port?: number;
  /** The audit log (JSON lines, appended). Default: `<config file>.audit.jsonl` beside the configuration file. */
  auditFile?: string;
  /**
   * Test hook, never for production: stop for good at this point of a write (the temp file written
   * and synced, before or after the rename) after calling `onPause`, so a test can kill the process there.
   */
  pauseAt?: 'before-rename' | 'after-rename';
  onPause?: (point: 'before-rename' | 'after-rename') => void;
}

/** One accepted change, as appended to the audit log. */
export interface AuditEntry {
  time: string;
  service: string;
  /** Configuration version in force after the change. */
  version: number;
  /** Each member that changed: its value before and after (absent: `null`). Ids, flags, paths; never key material. */
  changes: Array<{ member: string; from: unknown; to: unknown }>;
}

/** What the admin listener needs from the gateway. */
export interface AdminHost {
  configFile: string;
  keys: KeySource;
  /** The configuration in force: its text exactly as loaded. */
  state(): { version: number; hash: string; text: string; loadedAt: string; lastError: { code: string; message: string; at: string } | undefined };
  /** Re-reads and loads the file now; true when a new version is in force. */
  reload(): Promise<boolean>;
  stats(): Record<string, unknown>;
  emit(event: { type: 'admin-change'; service: string; version: number; members: string[] } | { type: 'admin-audit-error'; message: string }): void;
}

/** A running admin listener. */
export interface Admin {
  readonly url: string;
  stop(): Promise<void>;
}

/** The wire format of every token the gateway seals: it never sets `alg`, so the codec's default holds. */
export const WIRE_FORMAT = Object.freeze({ alg: 'A256KW', enc: 'A256GCM' });

const MAX_BODY = 64 * 1024;
const CONSOLE_DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'console');
const CONSOLE_FILES: Record<string, string> = {
  'index.html': 'text/html; charset=utf-8',
  'app.js': 'text/javascript; charset=utf-8',
  'api.js': 'text/javascript; charset=utf-8',
  'dom.js': 'text/javascript; charset=utf-8',
  'settings.js': 'text/javascript; charset=utf-8',
  'style.css': 'text/css; charset=utf-8',
};
/** The page runs only its own scripts and styles, talks only to this origin, and cannot be framed. */
export const CONSOLE_CSP = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; form-action 'none'; frame-ancestors 'none'; base-uri 'none'";

const sha256 = (text: string | Buffer): Buffer => createHash('sha256').update(text).digest();
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** A service's version for `If-Match`: a digest of its object as written in the file. */
export function serviceEtag(service: unknown): string {
  return `"${sha256(JSON.stringify(service)).toString('base64url').slice(0, 27)}"`;
}

class Problem extends Error {
  readonly status: number;
  readonly code: string;
  readonly title: string;
  readonly detail: string;
  readonly extra: Record<string, unknown>;
  readonly headers: Record<string, string>;
  constructor(status: number, code: string, title: string, detail: string, extra: Record<string, unknown> = {}, headers: Record<string, string> = {}) {
    super(detail);
    this.status = status;
    this.code = code;
    this.title = title;
    this.detail = detail;
    this.extra = extra;
    this.headers = headers;
  }
}

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store', 'x-content-type-options': 'nosniff', 'content-length': String(Buffer.byteLength(text)), ...headers }).end(text);
}

function sendProblem(res: ServerResponse, p: Problem): void {
  const body = JSON.stringify({ type: `urn:wireseal-apps:gateway:${p.code.toLowerCase()}`, title: p.title, status: p.status, code: p.code, detail: p.detail, ...p.extra });
  res.writeHead(p.status, { 'content-type': 'application/problem+json', 'cache-control': 'no-store', 'x-content-type-options': 'nosniff', 'content-length': String(Buffer.byteLength(body)), ...p.headers }).end(body);
}

async function readBody(req: IncomingMessage): Promise<unknown> {
  const type = String(req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  if (type !== 'application/json') throw new Problem(415, 'UNSUPPORTED_MEDIA_TYPE', 'Unsupported media type', 'send the service as application/json');
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY) throw new Problem(413, 'PAYLOAD_TOO_LARGE', 'Body too large', `a service is at most ${MAX_BODY} bytes`, {}, { connection: 'close' });
    chunks.push(chunk as Buffer);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw new Problem(400, 'INVALID_JSON', 'Invalid JSON', 'the body is not valid JSON');
  }
}

/** The path (`description`, `keyring.bank`) of the first string in `value` that holds one of `secrets`, or undefined. */
function findSecret(value: unknown, secrets: readonly string[], at = ''): string | undefined {
  if (typeof value === 'string') return secrets.some((s) => value.includes(s)) ? at || '(body)' : undefined;
  if (Array.isArray(value)) {
    for (const [i, v] of value.entries()) {
      const hit = findSecret(v, secrets, `${at}[${i}]`);
      if (hit) return hit;
    }
  } else if (isObject(value)) {
    for (const [k, v] of Object.entries(value)) {
      if (secrets.some((s) => k.includes(s))) return at ? `${at}.(member name)` : '(member name)';
      const hit = findSecret(v, secrets, at ? `${at}.${k}` : k);
      if (hit) return hit;
    }
  }
  return undefined;
}

/** Writes `text` to `file` so that the file is, at every instant, either its old or its new content. */
async function writeAtomic(file: string, text: string, options: AdminOptions): Promise<void> {
  const dir = path.dirname(file);
  const tmp = path.join(dir, `.${path.basename(file)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  let mode = 0o600;
  try {
    mode = fs.statSync(file).mode & 0o777;
  } catch {
    /* keep 0600 */
  }
  const pause = async (point: 'before-rename' | 'after-rename'): Promise<void> => {
    if (options.pauseAt !== point) return;
    options.onPause?.(point);
    await new Promise<never>(() => undefined); // the test kills the process here
  };
  try {
    const fh = await fs.promises.open(tmp, 'wx', mode);
    try {
      await fh.writeFile(text);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await pause('before-rename');
    await fs.promises.rename(tmp, file);
  } catch (err) {
    await fs.promises.rm(tmp, { force: true });
    throw err;
  }
  try {
    const d = await fs.promises.open(dir, 'r');
    try {
      await d.sync();
    } finally {
      await d.close();
    }
  } catch {
    /* some file systems cannot sync a directory */
  }
  await pause('after-rename');
}

/** The members whose values differ between two versions of a service. */
function diff(before: Record<string, unknown>, after: Record<string, unknown>): AuditEntry['changes'] {
  const members = [...new Set([...Object.keys(before), ...Object.keys(after)])];
  return members
    .filter((m) => JSON.stringify(before[m]) !== JSON.stringify(after[m]))
    .map((m) => ({ member: m, from: before[m] ?? null, to: after[m] ?? null }));
}

/** Starts the admin listener. */
export async function startAdmin(host: AdminHost, options: AdminOptions): Promise<Admin> {
  if (typeof options.token !== 'string' || options.token.length < 16) throw new TypeError('the admin token must be at least 16 characters');
  if (/[^\x21-\x7e]/.test(options.token)) throw new TypeError('the admin token must be printable ASCII without spaces');
  const expected = sha256(options.token);
  const auditFile = path.resolve(options.auditFile ?? `${host.configFile}.audit.jsonl`);
  const files = new Map<string, Buffer>();
  for (const name of Object.keys(CONSOLE_FILES)) files.set(name, fs.readFileSync(path.join(CONSOLE_DIR, name)));

  const authorized = (req: IncomingMessage): boolean => {
    const m = /^Bearer ([\x21-\x7e]{1,512})$/.exec(String(req.headers.authorization ?? ''));
    // Digests of equal length, compared in constant time: neither the token nor its length leaks.
    const same = timingSafeEqual(sha256(m ? m[1]! : randomBytes(16)), expected);
    return same && m !== null;
  };

  /** The configuration in force, parsed. */
  const doc = (): { version: number; services: Record<string, unknown>[] } => {
    const s = host.state();
    return { version: s.version, services: (JSON.parse(s.text) as { services: Record<string, unknown>[] }).services };
  };
  const findService = (services: Record<string, unknown>[], name: string): number => {
    const i = services.findIndex((s) => s.name === name);
    if (i < 0) throw new Problem(404, 'SERVICE_NOT_FOUND', 'No such service', 'no service of that name is configured', { service: name.slice(0, 64) });
    return i;
  };

  /** Validates `candidate` as service `name`: the same checks as the file, plus key bytes of the store anywhere in it. */
  const validate = (services: Record<string, unknown>[], index: number, name: string, candidate: unknown): Record<string, unknown>[] => {
    if (!isObject(candidate)) throw new Problem(422, 'ERR_POLICY_INVALID', 'Invalid service', 'the body must be the service object');
    const store = currentKeys(host.keys);
    const secrets = store.toJwks().keys.map((k) => k.k);
    const secretAt = findSecret(candidate, secrets);
    if (secretAt) throw new Problem(422, 'KEY_MATERIAL_REFUSED', 'Key material refused', `${secretAt} holds key material: keys are referenced by id only`, { field: secretAt });
    if (candidate.name !== name) throw new Problem(422, 'ERR_POLICY_INVALID', 'Invalid service', 'name cannot change here (it is the service\'s id)', { field: 'name' });
    const next = services.map((s, i) => (i === index ? candidate : s));
    try {
      parseGatewayConfig({ services: next }, store);
    } catch (err) {
      if (err instanceof GatewayConfigError) {
        const code = err.keyMaterial ? 'KEY_MATERIAL_REFUSED' : err.code;
        // A fault in another service (e.g. a routePrefix now taken twice) names that service too.
        const other = err.serviceIndex !== undefined && err.serviceIndex !== index ? { otherService: String(services[err.serviceIndex]?.name ?? '') } : {};
        throw new Problem(422, code, err.keyMaterial ? 'Key material refused' : 'Invalid service', err.message, { field: err.field ?? null, ...other });
      }
      if (err instanceof WiresealError) throw new Problem(422, err.code, 'Invalid service', err.message, { field: null });
      throw err;
    }
    return next;
  };

  let lock: Promise<unknown> = Promise.resolve();
  const serialized = <T>(fn: () => Promise<T>): Promise<T> => {
    const run = lock.then(fn, fn);
    lock = run.catch(() => undefined);
    return run;
  };

  const put = (req: IncomingMessage, name: string, candidate: unknown): Promise<{ status: number; body: unknown; etag: string }> => serialized(async () => {
    const ifMatch = req.headers['if-match'];
    if (ifMatch === undefined) throw new Problem(428, 'PRECONDITION_REQUIRED', 'If-Match required', 'send the ETag of the version you changed in If-Match');
    // The file on disk must be what runs: a hand edit not yet loaded is loaded first, or refused if it does not validate.
    let disk = await fs.promises.readFile(host.configFile, 'utf8');
    if (sha256(disk).toString('hex') !== host.state().hash) {
      await host.reload();
      disk = await fs.promises.readFile(host.configFile, 'utf8');
      if (sha256(disk).toString('hex') !== host.state().hash) {
        throw new Problem(409, 'CONFIG_NOT_LOADED', 'Configuration file not loaded', `the file on disk does not validate, so the gateway runs the last good version: ${host.state().lastError?.message ?? 'unknown'}`);
      }
    }
    const { services } = doc();
    const index = findService(services, name);
    const before = services[index]!;
    const etag = serviceEtag(before);
    if (!String(ifMatch).split(',').map((t) => t.trim()).includes(etag)) {
      throw new Problem(412, 'PRECONDITION_FAILED', 'Changed by someone else', `service ${name} changed since that version was read: reload it and apply the change again`, { service: name }, { etag });
    }
    const next = validate(services, index, name, candidate);
    const changes = diff(before, candidate as Record<string, unknown>);
    if (changes.length === 0) return { status: 200, body: { service: before, version: host.state().version, changed: [] }, etag };
    const text = `${JSON.stringify({ ...(JSON.parse(host.state().text) as object), services: next }, null, 2)}\n`;
    await writeAtomic(host.configFile, text, options);
    await host.reload();
    const state = host.state();
    if (state.hash !== sha256(text).toString('hex')) {
      throw new Problem(409, 'CONFIG_NOT_LOADED', 'Configuration file not loaded', `the file was written but the gateway did not load it: ${state.lastError?.message ?? 'it changed again meanwhile'}`);
    }
    const entry: AuditEntry = { time: new Date().toISOString(), service: name, version: state.version, changes };
    try {
      await fs.promises.appendFile(auditFile, `${JSON.stringify(entry)}\n`, { mode: 0o600 });
    } catch (err) {
      host.emit({ type: 'admin-audit-error', message: `cannot append to the audit log (${(err as { code?: string }).code ?? 'EIO'})` });
    }
    host.emit({ type: 'admin-change', service: name, version: state.version, members: changes.map((c) => c.member) });
    return { status: 200, body: { service: candidate, version: state.version, changed: changes.map((c) => c.member) }, etag: serviceEtag(candidate) };
  });

  const keysView = (): unknown => {
    const store = currentKeys(host.keys);
    const { services } = doc();
    return {
      keys: store.list().map(({ kid, role }) => {
        const usedBy: Array<{ service: string; audience?: string; as: 'key' | 'accepted' }> = [];
        for (const s of services) {
          if (s.keyId === kid) usedBy.push({ service: String(s.name), as: 'key' });
          if (Array.isArray(s.acceptKeyIds) && s.acceptKeyIds.includes(kid)) usedBy.push({ service: String(s.name), as: 'accepted' });
          if (isObject(s.keyring)) {
            for (const [audience, entry] of Object.entries(s.keyring)) {
              const ref = isObject(entry) ? entry : { keyId: entry };
              if (ref.keyId === kid) usedBy.push({ service: String(s.name), audience, as: 'key' });
              if (Array.isArray(ref.acceptKeyIds) && ref.acceptKeyIds.includes(kid)) usedBy.push({ service: String(s.name), audience, as: 'accepted' });
            }
          }
        }
        return { kid, role, usedBy };
      }),
    };
  };

  const audit = async (): Promise<unknown> => {
    let text = '';
    try {
      text = await fs.promises.readFile(auditFile, 'utf8');
    } catch (err) {
      if ((err as { code?: string }).code !== 'ENOENT') throw err;
    }
    const entries = text.split('\n').filter(Boolean).slice(-500).map((line) => {
      try {
        return JSON.parse(line) as AuditEntry;
      } catch {
        return { unreadable: true };
      }
    });
    return { entries };
  };

  const api = async (req: IncomingMessage, res: ServerResponse, route: string): Promise<void> => {
    if (!authorized(req)) {
      throw new Problem(401, 'UNAUTHORIZED', 'Unauthorized', 'send Authorization: Bearer <admin token>', {}, { 'www-authenticate': 'Bearer realm="wireseal-gateway-admin"' });
    }
    const method = req.method ?? 'GET';
    const only = (...allowed: string[]): void => {
      if (!allowed.includes(method)) throw new Problem(405, 'METHOD_NOT_ALLOWED', 'Method not allowed', `use ${allowed.join(' or ')}`, {}, { allow: allowed.join(', ') });
    };
    const state = host.state();
    if (route === 'services') {
      only('GET');
      const stats = host.stats();
      return send(res, 200, {
        version: state.version,
        loadedAt: state.loadedAt,
        lastError: state.lastError ?? null,
        wire: WIRE_FORMAT,
        services: doc().services.map((s) => ({ service: s, etag: serviceEtag(s), stats: stats[String(s.name)] ?? null })),
      });
    }
    const m = /^services\/([^/]+)(\/validate)?$/.exec(route);
    if (m) {
      let name: string;
      try {
        name = decodeURIComponent(m[1]!);
      } catch {
        throw new Problem(404, 'SERVICE_NOT_FOUND', 'No such service', 'no service of that name is configured');
      }
      if (m[2]) {
        only('POST');
        const candidate = await readBody(req);
        const { services } = doc();
        validate(services, findService(services, name), name, candidate);
        return send(res, 200, { ok: true });
      }
      only('GET', 'PUT');
      if (method === 'GET') {
        const { services, version } = doc();
        const s = services[findService(services, name)]!;
        return send(res, 200, s, { etag: serviceEtag(s), 'x-config-version': String(version) });
      }
      const candidate = await readBody(req);
      const out = await put(req, name, candidate);
      return send(res, out.status, out.body, { etag: out.etag });
    }
    if (route === 'keys') {
      only('GET');
      return send(res, 200, keysView());
    }
    if (route === 'stats') {
      only('GET');
      return send(res, 200, { version: state.version, services: host.stats() });
    }
    if (route === 'audit') {
      only('GET');
      return send(res, 200, await audit());
    }
    throw new Problem(404, 'NOT_FOUND', 'No such endpoint', 'unknown admin endpoint');
  };

  const page = (res: ServerResponse, name: string, method: string): void => {
    const body = files.get(name);
    if (!body || (method !== 'GET' && method !== 'HEAD')) return sendProblem(res, new Problem(404, 'NOT_FOUND', 'Not found', 'no such page'));
    res.writeHead(200, {
      'content-type': CONSOLE_FILES[name]!,
      'content-length': String(body.length),
      'cache-control': 'no-store',
      'content-security-policy': CONSOLE_CSP,
      'x-content-type-options': 'nosniff',
      'referrer-policy': 'no-referrer',
      'x-frame-options': 'DENY',
      'cross-origin-opener-policy': 'same-origin',
    });
    res.end(method === 'HEAD' ? undefined : body);
  };

  const server = http.createServer((req, res) => {
    const url = req.url ?? '/';
    const p = url.split('?')[0]!;
    const run = async (): Promise<void> => {
      if (p.startsWith('/admin/api/')) return api(req, res, p.slice('/admin/api/'.length));
      if (p === '/admin' || p === '/') return void res.writeHead(302, { location: '/admin/', 'content-length': '0' }).end();
      if (p === '/admin/') return page(res, 'index.html', req.method ?? 'GET');
      if (p.startsWith('/admin/')) return page(res, p.slice('/admin/'.length), req.method ?? 'GET');
      throw new Problem(404, 'NOT_FOUND', 'Not found', 'no such page');
    };
    run().catch((err: unknown) => {
      if (res.headersSent) return void res.destroy();
      if (err instanceof Problem) return sendProblem(res, err);
      sendProblem(res, new Problem(500, 'ERR_INTERNAL', 'Internal error', 'internal error'));
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', resolve);
  });
  const { address, port } = server.address() as AddressInfo;
  const shownHost = address.includes(':') ? `[${address}]` : address;
  return {
    url: `http://${shownHost}:${port}`,
    async stop() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/**
 * The admin token from the environment: `GATEWAY_ADMIN_TOKEN`, or the first line of the file
 * named by `GATEWAY_ADMIN_TOKEN_FILE`. Undefined when neither is set.
 * @throws Error when the file cannot be read or both are set
 */
export function adminTokenFromEnv(env: NodeJS.ProcessEnv): string | undefined {
  if (env.GATEWAY_ADMIN_TOKEN && env.GATEWAY_ADMIN_TOKEN_FILE) throw new Error('set GATEWAY_ADMIN_TOKEN or GATEWAY_ADMIN_TOKEN_FILE, not both');
  if (env.GATEWAY_ADMIN_TOKEN_FILE) return fs.readFileSync(env.GATEWAY_ADMIN_TOKEN_FILE, 'utf8').split(/\r?\n/)[0]!.trim();
  return env.GATEWAY_ADMIN_TOKEN || undefined;
}
