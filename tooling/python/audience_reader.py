"""A reader for audience documents written from docs/format.md sections 6.6-6.8 alone, on
top of reader.py (sections 1-5) and `cryptography`: policy paths and bind paths (6.2),
record binding (6.6), keyrings (6.7) and public-key field tokens (6.8: ECDH-ES+A256KW on
X25519 and P-256 with the Concat KDF, RSA-OAEP-256).

Reads a vector file on stdin and prints JSON for its `audiences` member:
  fields[name]          = {doc, decrypted, sealed, wsc: {at: wsc}, partial: {doc, decrypted, sealed}}
                          (every token's context recomputed here from the document itself)
  negative[name]        = {code} from decrypting the whole document
  negativeTokens[name]  = {code, context} from opening just the offending token at its location
"""
import copy, hashlib, json, re, struct, sys
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa, x25519
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.keywrap import aes_key_unwrap
from reader import Err, b64u, keyset, open_token, wsc

PUBLIC_ALGS = ('ECDH-ES+A256KW', 'RSA-OAEP-256')


def parse_path(text):  # 6.2: a list of steps, None for [*]; [] for "$"
    if text == '$': return []
    steps, i = [], 0
    while i < len(text):
        if text.startswith('[*]', i): steps.append(None); i += 3
        elif text.startswith('["', i):
            j = i + 2
            while text[j] != '"': j += 2 if text[j] == '\\' else 1
            steps.append(json.loads(text[i + 1:j + 1])); i = j + 2
        else:
            i += text[i] == '.'
            name = re.match(r'[^.\[\]"\s]+', text[i:]).group(0)
            steps.append(name); i += len(name)
    return steps


def locate(doc, steps):  # 6.3: (holder, key, concrete path, indices at the [*] steps)
    out = []
    def go(holder, key, i, at, idx):
        if i == len(steps): out.append((holder, key, at or '$', idx)); return
        v, s = holder[key], steps[i]
        if s is None and isinstance(v, list):
            for j in range(len(v)): go(v, j, i + 1, f'{at}[{j}]', idx + [j])
        elif s is not None and isinstance(v, dict) and s in v:
            go(v, s, i + 1, f'{at}.{s}' if at else s, idx)
    go({'v': doc}, 'v', 0, '', [])
    return out


def js_json(v):  # JSON.stringify of a string, number or boolean
    if isinstance(v, bool): return 'true' if v else 'false'
    if isinstance(v, int): return str(v)
    if isinstance(v, float): return str(int(v)) if v.is_integer() else repr(v)
    return json.dumps(v, ensure_ascii=False)


def bound_context(doc, bind, steps, idx, base):  # 6.6
    ctx = dict(base or {})
    for text, b in bind:
        last = max([k for k, s in enumerate(b) if s is None], default=-1)
        if last >= len(steps) or b[:last + 1] != steps[:last + 1]: continue  # not under the same [*]
        v, e = doc, 0
        try:
            for s in b:
                if s is None: v = v[idx[e]]; e += 1
                else: v = v[s] if isinstance(v, dict) else None
        except (IndexError, KeyError, TypeError): v = None
        if v is None or isinstance(v, (dict, list)): raise Err('ERR_CONTEXT_MISMATCH')  # cannot be checked
        ctx['$' + text] = js_json(v)
    return ctx


def private_keys(jwks):  # 6.8: kid -> (alg, private key)
    out = {}
    for k in jwks['keys']:
        if k.get('kty') == 'OKP' and k.get('crv') == 'X25519':
            out[k['kid']] = ('ECDH-ES+A256KW', x25519.X25519PrivateKey.from_private_bytes(b64u(k['d'])))
        elif k.get('kty') == 'EC' and k.get('crv') == 'P-256':
            out[k['kid']] = ('ECDH-ES+A256KW', ec.derive_private_key(int.from_bytes(b64u(k['d']), 'big'), ec.SECP256R1()))
        elif k.get('kty') == 'RSA':
            n = lambda m: int.from_bytes(b64u(k[m]), 'big')
            out[k['kid']] = ('RSA-OAEP-256', rsa.RSAPrivateNumbers(n('p'), n('q'), n('d'), n('dp'), n('dq'), n('qi'), rsa.RSAPublicNumbers(n('e'), n('n'))).private_key())
        else: raise Err('ERR_KEYSET_INVALID')
    return out


def concat_kdf(z, alg):  # RFC 7518 4.6.2: one SHA-256 round, empty apu/apv, SuppPubInfo 256
    a = alg.encode('ascii')
    return hashlib.sha256(struct.pack('>I', 1) + z + struct.pack('>I', len(a)) + a + struct.pack('>II', 0, 0) + struct.pack('>I', 256)).digest()


def open_public(keys, token, field, context):  # section 4 with 6.8's key management
    h64, ek64, iv64, ct64, tag64 = token.split('.')
    try: h = json.loads(b64u(h64).decode('utf-8'))
    except (ValueError, UnicodeDecodeError): raise Err('ERR_TOKEN_MALFORMED')
    if not isinstance(h, dict) or any(m in h and not isinstance(h[m], str) for m in ('alg', 'enc', 'kid', 'wsf', 'wsc')): raise Err('ERR_TOKEN_MALFORMED')
    if 'crit' in h or 'zip' in h or h.get('alg') not in PUBLIC_ALGS or h.get('enc') != 'A256GCM': raise Err('ERR_ALG_UNSUPPORTED')
    ek, iv, ct, tag = (b64u(s) for s in (ek64, iv64, ct64, tag64))
    if len(iv) != 12 or len(tag) != 16 or not (len(ek) == 40 if h['alg'] == 'ECDH-ES+A256KW' else 256 <= len(ek) <= 1024): raise Err('ERR_TOKEN_MALFORMED')
    if h.get('kid') not in keys or keys[h['kid']][0] != h['alg']: raise Err('ERR_KEY_UNKNOWN')
    key = keys[h['kid']][1]
    if h['alg'] == 'RSA-OAEP-256':
        try: cek = key.decrypt(ek, padding.OAEP(mgf=padding.MGF1(hashes.SHA256()), algorithm=hashes.SHA256(), label=None))
        except Exception: raise Err('ERR_DECRYPT')
        if len(cek) != 32: raise Err('ERR_DECRYPT')
    else:
        okp = isinstance(key, x25519.X25519PrivateKey)
        epk = h.get('epk')
        if not isinstance(epk, dict) or epk.get('kty') != ('OKP' if okp else 'EC') or epk.get('crv') != ('X25519' if okp else 'P-256') or 'd' in epk:
            raise Err('ERR_TOKEN_MALFORMED')
        try:
            peer = x25519.X25519PublicKey.from_public_bytes(b64u(epk['x'])) if okp else \
                ec.EllipticCurvePublicNumbers(int.from_bytes(b64u(epk['x']), 'big'), int.from_bytes(b64u(epk['y']), 'big'), ec.SECP256R1()).public_key()
        except Exception: raise Err('ERR_TOKEN_MALFORMED')
        try: cek = aes_key_unwrap(concat_kdf(key.exchange(peer) if okp else key.exchange(ec.ECDH(), peer), h['alg']), ek)
        except Exception: raise Err('ERR_DECRYPT')
    try: pt = AESGCM(cek).decrypt(iv, ct + tag, h64.encode('ascii'))
    except Exception: raise Err('ERR_DECRYPT')
    if h.get('wsf') != field: raise Err('ERR_FIELD_MISMATCH')
    if context is not None or 'wsc' in h:
        if context is None or h.get('wsc') != wsc(context): raise Err('ERR_CONTEXT_MISMATCH')
    return pt


def open_field(aud_keys, token, field, context):  # 6.7: wsf first, then the audience's key management
    try: h = json.loads(b64u(token.split('.')[0]).decode('utf-8'))
    except (ValueError, UnicodeDecodeError, Err): raise Err('ERR_TOKEN_MALFORMED')
    if not isinstance(h, dict): raise Err('ERR_TOKEN_MALFORMED')
    if h.get('wsf') != field: raise Err('ERR_FIELD_MISMATCH')
    kind, keys = aud_keys
    pt = open_token(keys, token, field=field, context=context) if kind == 'shared' else open_public(keys, token, field, context)
    try: return json.loads(pt.decode('utf-8'))
    except (ValueError, UnicodeDecodeError): raise Err('ERR_TOKEN_MALFORMED')


def looks_like_token(v): return isinstance(v, str) and v.startswith('eyJ') and v.count('.') == 4


class Reader:
    def __init__(self, vec):
        self.sets = vec['keySets']

    def ring(self, names):  # audience -> ('shared', reader.keyset) | ('private', private_keys)
        return {aud: ('shared', keyset(self.sets[s])) if all(k['kty'] == 'oct' for k in self.sets[s]['keys']) else ('private', private_keys(self.sets[s]))
                for aud, s in names.items()}

    def decrypt(self, policy, names, doc, context):  # 6.5 + 6.7, strict mode
        ring, out = self.ring(names), copy.deepcopy(doc)
        bind = [(t, parse_path(t)) for t in policy.get('bind', [])]
        paths = [(a, p) for a, ps in policy['audiences'].items() for p in ps] if 'audiences' in policy else [('default', p) for p in policy['fields']]
        res = {'decrypted': [], 'sealed': [], 'wsc': {}}
        for aud, text in paths:
            steps = parse_path(text)
            for holder, key, at, idx in locate(out, steps):
                v = holder[key]
                if not looks_like_token(v): raise Err('ERR_PLAINTEXT_FIELD')
                if aud not in ring: res['sealed'].append(at); continue
                ctx = bound_context(doc, bind, steps, idx, context)
                holder[key] = open_field(ring[aud], v, text, ctx)
                res['decrypted'].append(at); res['wsc'][at] = wsc(ctx)
        res['doc'] = out
        return res

    def token_at(self, n):  # the offending token alone, at its location, with the context computed here
        steps = parse_path(n['path'])
        bind = [(t, parse_path(t)) for t in n['policy'].get('bind', [])]
        idx = next(i for _, _, at, i in locate(n['doc'], steps) if at == n['at'])
        ctx = bound_context(n['doc'], bind, steps, idx, n.get('context'))
        try: open_field(self.ring(n['keyring'])[n['audience']], n['token'], n['path'], ctx); return {'code': None, 'context': ctx}
        except Err as e: return {'code': str(e), 'context': ctx}


def attempt(fn):
    try: return fn()
    except Err as e: return {'code': str(e)}


if __name__ == '__main__':
    a = json.load(sys.stdin)['audiences']
    r = Reader(a)
    fields = {}
    for f in a['fields']:
        full = r.decrypt(f['policy'], f['keyring'], f['sealed'], f.get('context'))
        part = r.decrypt(f['policy'], f['partial']['keyring'], f['sealed'], f.get('context'))
        fields[f['name']] = dict(full, partial={k: part[k] for k in ('doc', 'decrypted', 'sealed')})
    print(json.dumps({
        'fields': fields,
        'negative': {n['name']: attempt(lambda n=n: r.decrypt(n['policy'], n['keyring'], n['doc'], n.get('context')) and {'code': None}) for n in a['negative']},
        'negativeTokens': {n['name']: r.token_at(n) for n in a['negative']},
    }, ensure_ascii=False))
