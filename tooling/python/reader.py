"""A wireseal reader written from docs/format.md alone (sections 1-5, 10, 12), using
`cryptography`. Reads a vector file (docs/format.md section 10) on stdin and prints,
per vector, the plaintext (base64url) or the error code, plus every context's wsc."""
import base64, hashlib, json, re, sys
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.keywrap import aes_key_unwrap

class Err(Exception): pass

def b64u(s):  # section 1: strict, unpadded, canonical
    if not re.fullmatch(r'[A-Za-z0-9_-]*', s) or len(s) % 4 == 1: raise Err('ERR_TOKEN_MALFORMED')
    b = base64.urlsafe_b64decode(s + '=' * (-len(s) % 4))
    if base64.urlsafe_b64encode(b).decode().rstrip('=') != s: raise Err('ERR_TOKEN_MALFORMED')
    return b

def key_ok(k, seen):  # section 2, one key
    if not isinstance(k, dict) or k.get('kty') != 'oct' or not isinstance(k.get('kid'), str) or k['kid'] in seen: return False
    ops = k.get('key_ops', ['decrypt'])
    try: raw = b64u(k['k']) if isinstance(k.get('k'), str) else b''
    except Err: raw = b''
    return bool(re.fullmatch(r'[\x20-\x7e]{1,64}', k['kid'])) and len(raw) == 32 and isinstance(ops, list) and len(set(ops)) == len(ops) \
        and set(ops) <= {'encrypt', 'decrypt'} and k.get('alg', 'dir') in ('A256KW', 'dir', 'A256GCM') and k.get('use', 'enc') == 'enc'

def keyset(jwks):  # section 2: kid -> (key bytes, may decrypt); exactly one primary
    keys = {}
    if not isinstance(jwks, dict) or not isinstance(jwks.get('keys'), list) or not jwks['keys']: raise Err('ERR_KEYSET_INVALID')
    for k in jwks['keys']:
        if not key_ok(k, keys): raise Err('ERR_KEYSET_INVALID')
        keys[k['kid']] = (b64u(k['k']), 'decrypt' in k.get('key_ops', ['decrypt']), 'encrypt' in k.get('key_ops', []))
    if sum(k[2] for k in keys.values()) != 1: raise Err('ERR_KEYSET_INVALID')
    return keys

def wsc(ctx):  # section 5.2: code-unit order, JSON.stringify escaping
    s = json.dumps(sorted(ctx.items(), key=lambda kv: kv[0].encode('utf-16-be')), ensure_ascii=False, separators=(',', ':'))
    return base64.urlsafe_b64encode(hashlib.sha256(s.encode()).digest()[:16]).decode().rstrip('=')

def open_token(keys, token, field=None, context=None, maxAgeSeconds=None, nowSeconds=None):  # section 4, in order
    if not isinstance(token, str) or len(token) > 16 * 1024 * 1024 or token.count('.') != 4: raise Err('ERR_TOKEN_MALFORMED')
    h64, ek64, iv64, ct64, tag64 = token.split('.')
    if not h64 or len(h64) > 4096: raise Err('ERR_TOKEN_MALFORMED')
    try: h = json.loads(b64u(h64).decode('utf-8'))
    except (ValueError, UnicodeDecodeError): raise Err('ERR_TOKEN_MALFORMED')
    if not isinstance(h, dict) or any(m in h and not isinstance(h[m], str) for m in ('alg', 'enc', 'kid', 'cty', 'wsf', 'wsc')) \
       or ('iat' in h and (isinstance(h['iat'], bool) or not isinstance(h['iat'], (int, float)) or h['iat'] != int(h['iat']) or abs(h['iat']) > 2**53 - 1)):
        raise Err('ERR_TOKEN_MALFORMED')
    if 'crit' in h or 'zip' in h or h.get('alg') not in ('A256KW', 'dir') or h.get('enc') != 'A256GCM': raise Err('ERR_ALG_UNSUPPORTED')
    ek, iv, ct, tag = (b64u(s) for s in (ek64, iv64, ct64, tag64))
    if len(ek) != (40 if h['alg'] == 'A256KW' else 0) or len(iv) != 12 or len(tag) != 16: raise Err('ERR_TOKEN_MALFORMED')
    if h.get('kid') not in keys or not keys[h['kid']][1]: raise Err('ERR_KEY_UNKNOWN')
    try:
        cek = aes_key_unwrap(keys[h['kid']][0], ek) if h['alg'] == 'A256KW' else keys[h['kid']][0]
        pt = AESGCM(cek).decrypt(iv, ct + tag, h64.encode('ascii'))
    except Exception: raise Err('ERR_DECRYPT')
    if (field is not None or 'wsf' in h) and h.get('wsf') != field: raise Err('ERR_FIELD_MISMATCH')
    if (context is not None or 'wsc' in h) and (context is None or h.get('wsc') != wsc(context)): raise Err('ERR_CONTEXT_MISMATCH')
    if maxAgeSeconds is not None and ('iat' not in h or nowSeconds - h['iat'] > maxAgeSeconds or h['iat'] - nowSeconds > 30): raise Err('ERR_STALE')
    return pt

def attempt(fn, out=lambda pt: {'plaintext': base64.urlsafe_b64encode(pt).decode().rstrip('=')}):
    try: return out(fn())
    except Err as e: return {'code': str(e)}

def field_value(keys, v, ctx):  # section 6.5: a field token's plaintext is UTF-8 JSON
    pt = open_token(keys, v['token'], field=v['path'], context=ctx)
    try: return {'value': json.loads(pt.decode('utf-8'))}
    except (ValueError, UnicodeDecodeError): raise Err('ERR_TOKEN_MALFORMED')

if __name__ == '__main__':  # audience_reader.py imports the functions above
    vec = json.load(sys.stdin)
    sets = {n: keyset(j) for n, j in vec['keySets'].items()}
    print(json.dumps({
        'contexts': {c['name']: wsc(c['context']) for c in vec.get('contexts', [])},
        'tokens': {v['name']: attempt(lambda v=v: open_token(sets[v['keySet']], v['token'], **v['open'])) for v in vec.get('tokens', [])},
        'negativeTokens': {v['name']: attempt(lambda v=v: open_token(sets[v['keySet']], v['token'], **v['open'])) for v in vec.get('negative', {}).get('tokens', [])},
        'fields': {f"{f['name']}/{t['at']}": attempt(lambda f=f, t=t: field_value(sets[f['keySet']], t, f.get('context')), dict) for f in vec.get('fields', []) for t in f['tokens']},
        'negativeFields': {v['name']: attempt(lambda v=v: field_value(sets[v['keySet']], v, v.get('context')), dict) for v in vec.get('negative', {}).get('fields', []) if 'token' in v},
        'keySets': {v['name']: attempt(lambda v=v: keyset(v['jwks']), lambda _: {}) for v in vec.get('negative', {}).get('keySets', [])},
    }))
