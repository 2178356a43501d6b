// Smoke test of the BUILT @wireseal/core (dist/) on the machine's own Node
// (20.19+), with node:test: seal/open, fields, and jose interop both ways.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as jose from 'jose';
import { KeySet, seal, open, FieldPolicy, encryptFields, decryptFields } from '@wireseal/core';
import { WiresealError } from '@wireseal/core/errors';

const keys = KeySet.generate({ kid: 'smoke' });
const raw = Buffer.from(keys.toJwks().keys[0].k, 'base64url');

test(`runs on Node ${process.version} from dist/`, () => {
  assert.match(import.meta.resolve('@wireseal/core'), /\/dist\/index\.js$/);
});

test('seal/open A256KW and dir', () => {
  for (const alg of ['A256KW', 'dir']) {
    const t = seal(keys, 'hello', { alg, field: 'a', context: { topic: 't' } });
    assert.equal(Buffer.from(open(keys, t, { field: 'a', context: { topic: 't' } })).toString(), 'hello');
    assert.throws(() => open(keys, t, { field: 'b', context: { topic: 't' } }), (e) => e instanceof WiresealError && e.code === 'ERR_FIELD_MISMATCH');
  }
});

test('fields round trip', () => {
  const policy = FieldPolicy.parse({ fields: ['card.number', 'accounts[*].iban'] });
  const doc = { card: { number: '4111111111111111' }, accounts: [{ iban: 'DE1' }] };
  const sealed = encryptFields(keys, doc, policy);
  assert.notEqual(sealed.card.number, doc.card.number);
  assert.deepEqual(decryptFields(keys, sealed, policy).doc, doc);
});

test('jose opens wireseal tokens and wireseal opens jose tokens', async () => {
  const t = seal(keys, 'to jose');
  const { plaintext } = await jose.compactDecrypt(t, raw);
  assert.equal(Buffer.from(plaintext).toString(), 'to jose');
  const j = await new jose.CompactEncrypt(new TextEncoder().encode('from jose'))
    .setProtectedHeader({ alg: 'A256KW', enc: 'A256GCM', kid: 'smoke' })
    .encrypt(raw);
  assert.equal(Buffer.from(open(keys, j)).toString(), 'from jose');
});

test('noble engine works and agrees', () => {
  const t = seal(keys, 'noble', { engine: 'noble' });
  assert.equal(Buffer.from(open(keys, t, { engine: 'node' })).toString(), 'noble');
});
