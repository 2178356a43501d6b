// Service → Settings → Payload encryption: the Enabled switch, the wire format,
// the key (from the gateway's key store, by id), the mode, the policy paths
// (checked by the gateway's own validator as you type), required or optional
// encryption, and the keys still accepted during a key change. Save sends the
// whole service back with If-Match; the server's verdict is shown as it is.
import { ApiError, call, servicePath } from './api.js';
import { h, replace } from './dom.js';

const isObject = (v) => typeof v === 'object' && v !== null && !Array.isArray(v);

/** A fault found before asking the server (e.g. JSON that does not parse). */
class FieldError extends Error {
  constructor(field, message) {
    super(message);
    this.field = field;
  }
}

export async function renderSettings(main, name, { every, handleAuth }) {
  const title = h('h2', { id: 'settings-title' }, 'Payload encryption: ', h('span', { class: 'name' }, name));
  const back = h('a', { href: '#/services', class: 'back' }, '← All services');
  replace(main, back, title, h('p', { class: 'help', 'aria-live': 'polite' }, 'Loading…'));
  let service;
  let etag;
  let keys;
  let wire;
  try {
    const [s, k, list] = await Promise.all([call('GET', servicePath(name)), call('GET', 'keys'), call('GET', 'services')]);
    service = s.body;
    etag = s.etag;
    keys = k.body.keys;
    wire = list.body.wire;
  } catch (err) {
    if (handleAuth(err)) return;
    const text = err instanceof ApiError && err.status === 404 ? `No service named “${name}” is configured.` : `Cannot load the service: ${err.message}`;
    replace(main, back, title, h('p', { id: 'load-error', class: 'error', role: 'alert' }, text));
    return;
  }
  renderForm(main, { back, title, name, service, etag, keys, wire, every, handleAuth });
}

function renderForm(main, ctx) {
  const { back, title, name, keys, wire, every, handleAuth } = ctx;
  let original = ctx.service;
  let etag = ctx.etag;
  const keyring = isObject(original.keyring) ? original.keyring : undefined;
  const kidOptions = (selected) => keys.map((k) => h('option', { value: k.kid, selected: k.kid === selected }, k.kid));

  // Enabled
  const enabled = h('input', { type: 'checkbox', id: 'enabled', role: 'switch', checked: original.enabled === true, 'aria-describedby': 'enabled-help' });
  const enabledField = h('div', { class: 'field switch' },
    enabled, h('label', { for: 'enabled' }, 'Payload encryption enabled'),
    h('p', { id: 'enabled-help', class: 'help' }, 'On: requests are opened before they are forwarded and answers sealed. Off: bytes pass through untouched both ways.'));

  // Algorithm, as it is on the wire
  const algorithm = h('div', { class: 'field' },
    h('span', { class: 'label', id: 'algorithm-label' }, 'Encryption algorithm'),
    h('output', { id: 'algorithm', 'aria-labelledby': 'algorithm-label' }, `${wire.alg} + ${wire.enc}`),
    h('p', { class: 'help' }, `JWE compact tokens: a content key wrapped with ${wire.alg} under the service key (held for up to 2^24 tokens or 5 minutes, a fresh one after a key change); the content encrypted with ${wire.enc}, a fresh IV per token.`));

  // Key(s)
  const accepted = new Map(); // audience ('' for the service) → Set of kids
  const keyFields = [];
  const selects = new Map();
  const acceptedBoxes = new Map();
  const keyBlock = (audience, entry) => {
    const keyId = typeof entry === 'string' ? entry : entry?.keyId ?? '';
    accepted.set(audience, new Set(Array.isArray(entry?.acceptKeyIds) ? entry.acceptKeyIds : []));
    const id = audience ? `keyId-${audience}` : 'keyId';
    const select = h('select', { id, name: id, 'aria-describedby': `${id}-help ${id}-error` }, kidOptions(keyId));
    if (!keys.some((k) => k.kid === keyId)) select.prepend(h('option', { value: keyId, selected: true }, `${keyId} (not in the key store)`));
    selects.set(audience, select);
    const boxes = h('div', { class: 'checks', id: audience ? `accepted-${audience}` : 'accepted' });
    acceptedBoxes.set(audience, boxes);
    const drawBoxes = () => {
      const set = accepted.get(audience);
      replace(boxes, keys.filter((k) => k.kid !== select.value).map((k, i) => {
        const boxId = `${id}-accept-${i}`;
        const box = h('input', { type: 'checkbox', id: boxId, value: k.kid, checked: set.has(k.kid) });
        box.addEventListener('change', () => {
          if (box.checked) set.add(k.kid);
          else set.delete(k.kid);
          changed();
        });
        return h('div', { class: 'check' }, box, h('label', { for: boxId }, k.kid));
      }));
    };
    select.addEventListener('change', () => {
      accepted.get(audience).delete(select.value);
      drawBoxes();
      changed();
    });
    drawBoxes();
    keyFields.push(h('div', { class: 'field' },
      h('label', { for: id }, audience ? `Key of audience ${audience}` : 'Encryption key'),
      select,
      h('p', { id: `${id}-help`, class: 'help' }, 'A key of the gateway\'s key store, by id: for this service it opens requests and seals answers (whatever its role in the store).'),
      h('p', { id: `${id}-error`, class: 'error', role: 'alert' })),
      h('fieldset', { class: 'field' },
        h('legend', {}, audience ? `Keys still accepted for ${audience}` : 'Keys still accepted during a key change'),
        h('p', { class: 'help' }, 'They open requests but never seal. Keep the old key here until every client seals with the new one, then untick it.'),
        boxes));
  };
  if (keyring) for (const [audience, entry] of Object.entries(keyring)) keyBlock(audience, entry);
  else keyBlock('', { keyId: original.keyId, acceptKeyIds: original.acceptKeyIds });

  // Mode
  const mode = h('select', { id: 'mode', name: 'mode', 'aria-describedby': 'mode-help' },
    h('option', { value: 'fields', selected: original.mode === 'fields' }, 'fields — selected JSON fields are sealed'),
    h('option', { value: 'whole', selected: original.mode === 'whole' }, 'whole — the whole body is sealed (application/jose)'));
  const modeField = h('div', { class: 'field' }, h('label', { for: 'mode' }, 'Mode'), mode, h('p', { id: 'mode-help', class: 'help' }, 'What the clients seal.'));

  // Policy
  const asJson = isObject(original.policy) && !Array.isArray(original.policy.fields);
  const policyLines = Array.isArray(original.policy) ? original.policy : isObject(original.policy) && Array.isArray(original.policy.fields) ? original.policy.fields : [];
  const policy = h('textarea', { id: 'policy', name: 'policy', rows: asJson ? 8 : Math.max(3, policyLines.length + 1), spellcheck: 'false', autocomplete: 'off', 'aria-describedby': 'policy-help policy-error' });
  policy.value = asJson ? JSON.stringify(original.policy, null, 2) : policyLines.join('\n');
  const policyError = h('p', { id: 'policy-error', class: 'error', role: 'alert' });
  const policyField = h('div', { class: 'field', id: 'policy-field' },
    h('label', { for: 'policy' }, asJson ? 'Policy (JSON)' : 'Encrypted fields (one path per line)'),
    policy,
    h('p', { id: 'policy-help', class: 'help' }, asJson ? 'The policy with its audiences, as in the configuration file.' : 'Paths such as card.number, accounts[*].iban or ["a.b"]; checked by the gateway as you type.'),
    policyError);
  const currentPaths = h('ul', { id: 'policy-paths', class: 'paths', 'aria-label': 'Paths in force' },
    (asJson ? [] : policyLines).map((p) => h('li', {}, h('code', {}, p))));

  // Encryption required / optional
  const encValue = original.encryption ?? 'required';
  const radio = (value, label, help) => h('div', { class: 'check' },
    h('input', { type: 'radio', name: 'encryption', id: `encryption-${value}`, value, checked: encValue === value }),
    h('label', { for: `encryption-${value}` }, label, h('span', { class: 'help' }, ` — ${help}`)));
  const encryption = h('fieldset', { class: 'field', id: 'encryption' },
    h('legend', {}, 'Encryption'),
    radio('required', 'Required', 'plaintext requests are refused (4xx) and never forwarded'),
    radio('optional', 'Optional', 'plaintext clients still pass, counted as passed through'));

  const readOnly = h('dl', { class: 'facts' },
    h('dt', {}, 'Route'), h('dd', {}, h('code', {}, String(original.routePrefix ?? ''))),
    h('dt', {}, 'Upstream'), h('dd', {}, h('code', {}, String(original.upstream ?? ''))),
    original.description ? [h('dt', {}, 'Description'), h('dd', { id: 'description' }, String(original.description))] : null);
  const counters = h('p', { id: 'counters', class: 'help', 'aria-live': 'off' });

  const verdict = h('div', { id: 'verdict', role: 'status', 'aria-live': 'polite' });
  const save = h('button', { type: 'submit', id: 'save', class: 'primary' }, 'Save');
  const reload = h('button', { type: 'button', id: 'reload' }, 'Discard changes and reload');
  const form = h('form', { id: 'settings', class: 'card', 'aria-labelledby': 'settings-title', novalidate: true },
    enabledField, algorithm, keyFields, modeField, policyField, currentPaths, encryption,
    h('div', { class: 'buttons' }, save, reload), verdict);

  replace(main, back, title, readOnly, counters, form);

  const showPolicy = () => {
    policyField.hidden = mode.value !== 'fields';
    currentPaths.hidden = mode.value !== 'fields';
  };
  showPolicy();

  /** The service object as it will be sent: the one read, with the form's values. */
  const candidate = () => {
    const c = structuredClone(original);
    c.enabled = enabled.checked;
    c.mode = mode.value;
    if (c.mode === 'whole') delete c.policy;
    else if (asJson) {
      try {
        c.policy = JSON.parse(policy.value);
      } catch {
        throw new FieldError('policy', 'policy: not valid JSON');
      }
    } else {
      const lines = policy.value.split('\n').map((l) => l.trim()).filter((l) => l !== '');
      c.policy = isObject(original.policy) ? { ...original.policy, fields: lines } : lines;
    }
    if (keyring) {
      c.keyring = {};
      for (const [audience, select] of selects) {
        const acc = [...accepted.get(audience)].filter((k) => k !== select.value);
        c.keyring[audience] = acc.length > 0 || isObject(keyring[audience]) ? { keyId: select.value, acceptKeyIds: acc } : select.value;
      }
    } else {
      c.keyId = selects.get('').value;
      const acc = [...accepted.get('')].filter((k) => k !== c.keyId);
      if (acc.length > 0 || 'acceptKeyIds' in original) c.acceptKeyIds = acc;
    }
    const enc = form.querySelector('input[name="encryption"]:checked')?.value ?? 'required';
    if (enc !== 'required' || 'encryption' in original) c.encryption = enc;
    return c;
  };

  const fieldErrors = () => [policyError, ...[...selects.keys()].map((a) => document.getElementById(a ? `keyId-${a}-error` : 'keyId-error'))];
  /** Shows a refusal next to the field it names (policy, key), or in the verdict. */
  const showFault = (field, message) => {
    for (const el of fieldErrors()) if (el) el.textContent = '';
    policy.removeAttribute('aria-invalid');
    if (field === 'policy' || (typeof field === 'string' && field.startsWith('policy'))) {
      policyError.textContent = message;
      policy.setAttribute('aria-invalid', 'true');
      return true;
    }
    const m = typeof field === 'string' ? /^(?:keyring\.([^.]+)|keyId|acceptKeyIds)/.exec(field) : null;
    if (m) {
      const el = document.getElementById(m[1] ? `keyId-${m[1]}-error` : 'keyId-error');
      if (el) {
        el.textContent = message;
        return true;
      }
    }
    return false;
  };
  const clearFaults = () => showFault(null, '');

  // Validation as you type: the gateway's own validator, without saving (debounced).
  let checkTimer;
  let checkSeq = 0;
  const changed = () => {
    clearTimeout(checkTimer);
    checkTimer = setTimeout(async () => {
      const seq = ++checkSeq;
      let c;
      try {
        c = candidate();
      } catch (err) {
        if (err instanceof FieldError) showFault(err.field, err.message);
        return;
      }
      try {
        await call('POST', `${servicePath(name)}/validate`, { body: c });
        if (seq === checkSeq) clearFaults();
      } catch (err) {
        if (handleAuth(err) || seq !== checkSeq) return;
        if (err instanceof ApiError) showFault(err.problem.field, err.problem.detail);
      }
    }, 250);
  };
  policy.addEventListener('input', changed);
  mode.addEventListener('change', () => {
    showPolicy();
    changed();
  });
  enabled.addEventListener('change', changed);
  for (const r of form.querySelectorAll('input[name="encryption"]')) r.addEventListener('change', changed);

  const say = (kind, ...children) => {
    verdict.className = `verdict ${kind}`;
    replace(verdict, ...children);
  };
  const reloadFromServer = async () => {
    const s = await call('GET', servicePath(name));
    ctx.service = s.body;
    ctx.etag = s.etag;
    renderForm(main, ctx);
  };
  reload.addEventListener('click', () => reloadFromServer().catch((err) => handleAuth(err) || say('bad', `Cannot reload: ${err.message}`)));

  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    clearTimeout(checkTimer);
    checkSeq++;
    let c;
    try {
      c = candidate();
    } catch (err) {
      if (err instanceof FieldError) {
        showFault(err.field, err.message);
        say('bad', h('strong', {}, 'Not saved. '), err.message);
        return;
      }
      throw err;
    }
    save.disabled = true;
    say('', 'Saving…');
    try {
      const res = await call('PUT', servicePath(name), { body: c, ifMatch: etag });
      original = res.body.service;
      etag = res.etag;
      clearFaults();
      const what = res.body.changed.length > 0 ? `changed: ${res.body.changed.join(', ')}` : 'nothing had changed';
      say('ok', h('strong', {}, 'Saved. '), `Configuration version ${res.body.version} is in force (${what}).`);
      replace(currentPaths, (mode.value === 'fields' && !asJson ? (Array.isArray(original.policy) ? original.policy : original.policy?.fields ?? []) : []).map((p) => h('li', {}, h('code', {}, p))));
    } catch (err) {
      if (handleAuth(err)) return;
      if (err instanceof ApiError && err.status === 412) {
        const again = h('button', { type: 'button', id: 'conflict-reload' }, 'Reload their version');
        again.addEventListener('click', () => reloadFromServer().catch((e2) => handleAuth(e2) || say('bad', `Cannot reload: ${e2.message}`)));
        say('bad', h('strong', {}, 'Not saved: someone else changed this service. '), `${name} was changed since you opened it. Reload to see the current settings, then make your change again. `, again);
        again.focus();
      } else if (err instanceof ApiError) {
        showFault(err.problem.field, err.problem.detail);
        say('bad', h('strong', {}, `Not saved (${err.status} ${err.problem.code ?? ''}). `), err.problem.detail ?? '');
      } else {
        say('bad', h('strong', {}, 'Not saved. '), err.message);
      }
    } finally {
      save.disabled = false;
    }
  });

  const refreshCounters = async () => {
    try {
      const { body } = await call('GET', 'stats');
      const st = body.services[name];
      counters.textContent = st
        ? `Requests ${st.requests} · decrypted ${st.decrypted} · passed through ${st.passedThrough + st.untouched} · refused ${Object.entries(st.refusedByCode).map(([c, n]) => `${c} ${n}`).join(', ') || '0'}`
        : 'No requests yet.';
    } catch (err) {
      handleAuth(err);
    }
  };
  refreshCounters();
  every(refreshCounters);
}
