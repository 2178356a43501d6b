"""Independent JOSE peer for wireseal's interop tests, using jwcrypto.

  python jwcrypto_interop.py open < {"keySets": {name: jwks}, "cases": [{"id", "keySet", "token"}]}
      -> {id: {"plaintext": base64url, "header": {...}} | {"error": "..."}}
      Opens each compact token with jwcrypto, picking the key by kid from the JWK Set
      (shared keys, or private X25519, P-256 and RSA keys for public-key field tokens).
  python jwcrypto_interop.py seal < {"cases": [{"id", "jwk", "alg", "plaintext": base64url,
                                                "header": {...}, "context": {...}?}]}
      -> {id: token}
      Makes compact JWE tokens (alg A256KW or dir, enc A256GCM) with jwcrypto; when
      "context" is given, adds wsc computed as docs/format.md section 5.2 says.
"""
import base64, hashlib, json, sys
from jwcrypto import jwe, jwk
from jwcrypto.common import base64url_decode, base64url_encode

# A256KW/dir: shared-key tokens; ECDH-ES+A256KW and RSA-OAEP-256: public-key field tokens (docs/format.md 6.8).
ALGS = ['A256KW', 'dir', 'A256GCM', 'ECDH-ES+A256KW', 'RSA-OAEP-256']


def key_set(jwks):
    # Only what JOSE needs: jwcrypto need not know wireseal's key_ops roles. Asymmetric
    # keys (OKP X25519, EC P-256, RSA, with their private members) go in as they are.
    return jwk.JWKSet.from_json(json.dumps({'keys': [
        {'kty': 'oct', 'kid': k['kid'], 'k': k['k']} if k.get('kty') == 'oct' else {m: v for m, v in k.items() if m != 'key_ops'}
        for k in jwks['keys']]}))


def wsc(ctx):
    s = json.dumps(sorted(ctx.items(), key=lambda kv: kv[0].encode('utf-16-be')), ensure_ascii=False, separators=(',', ':'))
    return base64url_encode(hashlib.sha256(s.encode('utf-8')).digest()[:16])


def open_all(req):
    sets = {name: key_set(j) for name, j in req['keySets'].items()}
    out = {}
    for c in req['cases']:
        token = jwe.JWE()
        token.allowed_algs = ALGS
        try:
            token.deserialize(c['token'], key=sets[c['keySet']])
        except jwe.InvalidJWEData as e:
            # jwcrypto 1.6.1 decrypts an empty plaintext (its log says only "Success") and
            # then raises because it tests `if not self.plaintext`. Accept exactly that case.
            log = getattr(token, 'decryptlog', None) or ['']
            if not (token.plaintext == b'' and all(entry == 'Success' for entry in log)):
                out[c['id']] = {'error': type(e).__name__}
                continue
        except Exception as e:  # report, do not crash: negative cases are expected to fail
            out[c['id']] = {'error': type(e).__name__}
            continue
        out[c['id']] = {'plaintext': base64url_encode(token.plaintext), 'header': json.loads(token.objects['protected'])}
    return out


def seal_all(req):
    out = {}
    for c in req['cases']:
        header = dict(c.get('header', {}), alg=c['alg'], enc='A256GCM')
        if 'context' in c:
            header['wsc'] = wsc(c['context'])
        key = jwk.JWK(kty='oct', k=c['jwk']['k'], kid=c['jwk']['kid'])
        token = jwe.JWE(base64url_decode(c['plaintext']), protected=json.dumps(header))
        token.allowed_algs = ALGS
        token.add_recipient(key)
        out[c['id']] = token.serialize(compact=True)
    return out


if __name__ == '__main__':
    request = json.load(sys.stdin)
    mode = sys.argv[1] if len(sys.argv) > 1 else ''
    if mode not in ('open', 'seal'):
        sys.exit('usage: jwcrypto_interop.py open|seal < request.json')
    json.dump(open_all(request) if mode == 'open' else seal_all(request), sys.stdout)
