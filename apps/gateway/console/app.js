// The console: sign-in, the list of services with live counters, and the
// per-service settings (settings.js). Routes are URL fragments:
// #/services and #/services/<name>. No framework: the page is three views of
// plain DOM built with textContent (dom.js), small enough to read in one sitting.
import { ApiError, call, hasToken, setToken } from './api.js';
import { h, replace } from './dom.js';
import { renderSettings } from './settings.js';

const main = document.getElementById('main');
const signout = document.getElementById('signout');
const REFRESH_MS = 2000;
let timers = [];

/** Runs `fn` now and every REFRESH_MS while the current view is shown and the tab is visible. */
function every(fn) {
  const tick = () => {
    if (document.visibilityState === 'visible') fn();
  };
  timers.push(setInterval(tick, REFRESH_MS));
}
function leaveView() {
  for (const t of timers) clearInterval(t);
  timers = [];
}

/** An API failure that means "sign in again" goes back to the sign-in view. */
export function handleAuth(err) {
  if (err instanceof ApiError && err.status === 401) {
    setToken('');
    route('Your session ended: the gateway refused the token. Sign in again.');
    return true;
  }
  return false;
}

function renderLogin(message) {
  signout.hidden = true;
  const input = h('input', { id: 'token', name: 'token', type: 'password', autocomplete: 'off', spellcheck: 'false', required: true, 'aria-describedby': 'token-help login-error' });
  const error = h('p', { id: 'login-error', class: 'error', role: 'alert' }, message ?? '');
  const form = h('form', { id: 'login-form', class: 'card narrow', 'aria-labelledby': 'login-title' },
    h('h2', { id: 'login-title' }, 'Sign in'),
    h('label', { for: 'token' }, 'Admin token'),
    input,
    h('p', { id: 'token-help', class: 'help' }, 'The value of GATEWAY_ADMIN_TOKEN. It stays in this page\'s memory only and is sent as an Authorization header.'),
    error,
    h('button', { type: 'submit', class: 'primary' }, 'Sign in'));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    setToken(input.value.trim());
    try {
      await call('GET', 'services');
      input.value = '';
      if (!location.hash.startsWith('#/services')) location.hash = '#/services';
      route();
    } catch (err) {
      setToken('');
      replace(error, err instanceof ApiError && err.status === 401 ? 'The gateway refused this token.' : `Cannot reach the admin API: ${err.message}`);
      input.focus();
    }
  });
  replace(main, form);
  input.focus();
}

const refusedText = (byCode) => {
  const entries = Object.entries(byCode ?? {});
  return entries.length === 0 ? '0' : entries.map(([code, n]) => `${code} ${n}`).join(', ');
};
const keyText = (s) => (typeof s.keyId === 'string' ? s.keyId : s.keyring ? Object.entries(s.keyring).map(([a, e]) => `${a}: ${typeof e === 'string' ? e : e.keyId}`).join(', ') : '');
const COLUMNS = [
  ['state', 'State'], ['mode', 'Mode'], ['key', 'Key'], ['requests', 'Requests'], ['decrypted', 'Decrypted'], ['passed', 'Passed through'], ['refused', 'Refused (by code)'],
];

function cells(entry) {
  const s = entry.service;
  const st = entry.stats ?? {};
  return {
    state: s.enabled ? 'Enabled' : 'Disabled',
    mode: s.mode,
    key: keyText(s),
    requests: String(st.requests ?? 0),
    decrypted: String(st.decrypted ?? 0),
    passed: String((st.passedThrough ?? 0) + (st.untouched ?? 0)),
    refused: refusedText(st.refusedByCode),
  };
}

function renderList() {
  const status = h('p', { id: 'list-status', class: 'help', 'aria-live': 'polite' });
  const problem = h('p', { id: 'config-error', class: 'error', role: 'alert' });
  const tbody = h('tbody');
  const table = h('table', { id: 'services', class: 'services' },
    h('caption', {}, 'Services and their payload encryption. Counters refresh every 2 seconds.'),
    h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Service'), COLUMNS.map(([, label]) => h('th', { scope: 'col' }, label)), h('th', { scope: 'col' }, h('span', { class: 'sr-only' }, 'Actions')))),
    tbody);
  const audit = h('ol', { id: 'audit', class: 'audit', reversed: true });
  replace(main,
    h('section', { 'aria-labelledby': 'services-title' }, h('h2', { id: 'services-title' }, 'Services'), status, problem, h('div', { class: 'table-wrap' }, table)),
    h('section', { 'aria-labelledby': 'audit-title' }, h('h2', { id: 'audit-title' }, 'Recent changes'), audit));
  const rows = new Map();
  const refresh = async () => {
    let list;
    let log;
    try {
      [list, log] = await Promise.all([call('GET', 'services'), call('GET', 'audit')]);
    } catch (err) {
      if (!handleAuth(err)) replace(status, `Cannot refresh: ${err.message}`);
      return;
    }
    replace(status, `Configuration version ${list.body.version}, loaded ${new Date(list.body.loadedAt).toLocaleString()}. Tokens: ${list.body.wire.alg} + ${list.body.wire.enc}.`);
    replace(problem, list.body.lastError ? `The configuration file was rejected, the last good version keeps running: ${list.body.lastError.message}` : '');
    const seen = new Set();
    for (const entry of list.body.services) {
      const name = entry.service.name;
      seen.add(name);
      const values = cells(entry);
      let row = rows.get(name);
      if (!row) {
        // Built once per service; later refreshes only change the cells' text, so focus and position stay.
        const tds = Object.fromEntries(COLUMNS.map(([key, label]) => [key, h('td', { 'data-label': label, 'data-col': key })]));
        const tr = h('tr', { 'data-service': name },
          h('th', { scope: 'row', 'data-label': 'Service' }, h('span', { class: 'name' }, name), entry.service.description ? h('span', { class: 'desc' }, entry.service.description) : null),
          COLUMNS.map(([key]) => tds[key]),
          h('td', { class: 'actions' }, h('a', { href: `#/services/${encodeURIComponent(name)}`, class: 'button', 'aria-label': `Settings of ${name}` }, 'Settings')));
        row = { tr, tds };
        rows.set(name, row);
        tbody.append(tr);
      }
      for (const [key, text] of Object.entries(values)) if (row.tds[key].textContent !== text) row.tds[key].textContent = text;
      row.tds.state.className = entry.service.enabled ? 'on' : 'off';
    }
    for (const [name, row] of rows) if (!seen.has(name)) { row.tr.remove(); rows.delete(name); }
    replace(audit, log.body.entries.slice(-20).reverse().map((e) => h('li', {},
      h('time', { datetime: e.time }, new Date(e.time).toLocaleString()), ' ',
      h('strong', {}, e.service), ` (v${e.version}): `,
      (e.changes ?? []).map((c, i) => [i ? '; ' : '', `${c.member}: ${JSON.stringify(c.from)} → ${JSON.stringify(c.to)}`]))));
    if (log.body.entries.length === 0) replace(audit, h('li', { class: 'help' }, 'No change made through the console yet.'));
  };
  refresh();
  every(refresh);
}

/** Shows the view for the current fragment. */
export function route(message) {
  leaveView();
  if (!hasToken()) return renderLogin(message);
  signout.hidden = false;
  const m = /^#\/services\/(.+)$/.exec(location.hash);
  if (m) {
    let name = m[1];
    try {
      name = decodeURIComponent(name);
    } catch {
      /* shown as it is */
    }
    return renderSettings(main, name, { every, handleAuth });
  }
  return renderList();
}

signout.addEventListener('click', () => {
  setToken('');
  location.hash = '';
  route();
});
window.addEventListener('hashchange', () => {
  route();
  main.focus();
});
route();
