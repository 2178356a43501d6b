"""A partner for wireseal's public-key JWE profile, written with jwcrypto only.

  python jwe_partner.py < config.json  ->  result JSON on stdout

config: {
  "url": "http://127.0.0.1:PORT/partner",   # loopback only
  "server": {public JWK of the server key, with kid},
  "alg": "RSA-OAEP-256" | "ECDH-ES+A256KW" | "RSA1_5" | ...,
  "client": {private JWK of the partner's registered key, with kid},
  "body": <JSON value>,                      # sent as application/json inside the JWE
  "iat": <int> | null,                        # default: now; null leaves iat out
  "omitWsr": false                            # true leaves out the reply-to client key id
}
result: {"status": int, "contentType": str, "header": {...}, "body": <JSON>}   for a sealed answer
        {"status": int, "contentType": str, "problem": {...}}                  for a problem

It encrypts the request to the server's public key (protected header: alg, enc A256GCM, kid,
cty, iat, wsr = the client key id), POSTs it as application/jose with urllib, and decrypts the
answer with the client's private key.
"""
import json
import sys
import time
import urllib.error
import urllib.request

from jwcrypto import jwe, jwk


def main():
    cfg = json.load(sys.stdin)
    if not cfg['url'].startswith('http://127.0.0.1:'):
        raise SystemExit('loopback URLs only')
    server = jwk.JWK(**cfg['server'])
    client = jwk.JWK(**cfg['client'])
    header = {'alg': cfg['alg'], 'enc': 'A256GCM', 'kid': cfg['server']['kid'], 'cty': 'application/json'}
    iat = cfg.get('iat', int(time.time()))
    if iat is not None:
        header['iat'] = iat
    if not cfg.get('omitWsr'):
        header['wsr'] = cfg['client']['kid']
    token = jwe.JWE(json.dumps(cfg['body']).encode('utf-8'), protected=json.dumps(header))
    token.allowed_algs = [cfg['alg'], 'A256GCM']  # RSA1_5 is off by default in jwcrypto: allow what the test asks for
    token.add_recipient(server)
    request = urllib.request.Request(
        cfg['url'],
        data=token.serialize(compact=True).encode('ascii'),
        method='POST',
        headers={'content-type': 'application/jose', 'accept': 'application/jose'},
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as res:
            status, ctype, data = res.status, res.headers.get('content-type', ''), res.read()
    except urllib.error.HTTPError as err:
        status, ctype, data = err.code, err.headers.get('content-type', ''), err.read()
    out = {'status': status, 'contentType': ctype}
    if ctype.startswith('application/jose'):
        answer = jwe.JWE()
        answer.allowed_algs = ['RSA-OAEP-256', 'ECDH-ES+A256KW', 'A256GCM']
        answer.deserialize(data.decode('ascii'), key=client)
        out['header'] = json.loads(answer.objects['protected'])
        out['body'] = json.loads(answer.payload)
    else:
        out['problem'] = json.loads(data)
    json.dump(out, sys.stdout)


if __name__ == '__main__':
    main()
