// The admin API, with the token kept in this module's memory only: it is sent
// as an Authorization header (never a cookie, so the browser never attaches it
// to a request another site makes) and forgotten when the page goes away.

let token = '';

export function setToken(value) {
  token = value;
}
export function hasToken() {
  return token !== '';
}

/** A refused call: the server's problem+json (code, detail, field) and HTTP status. */
export class ApiError extends Error {
  constructor(status, problem, etag) {
    super(problem.detail || problem.title || `HTTP ${status}`);
    this.status = status;
    this.problem = problem;
    this.etag = etag;
  }
}

/** Calls the admin API; resolves with { body, etag } or rejects with an ApiError. */
export async function call(method, path, { body, ifMatch } = {}) {
  const headers = { accept: 'application/json', authorization: `Bearer ${token}` };
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (ifMatch) headers['if-match'] = ifMatch;
  const res = await fetch(`/admin/api/${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), credentials: 'omit', cache: 'no-store' });
  const type = res.headers.get('content-type') || '';
  const data = type.includes('json') ? await res.json() : { detail: await res.text() };
  if (!res.ok) throw new ApiError(res.status, data, res.headers.get('etag'));
  return { body: data, etag: res.headers.get('etag') };
}

export const servicePath = (name) => `services/${encodeURIComponent(name)}`;
