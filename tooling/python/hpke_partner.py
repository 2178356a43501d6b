"""A partner for wireseal's HPKE profile, written with pyhpke only.

Suite: RFC 9180 base mode, DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, AES-256-GCM.

  python hpke_partner.py request < config.json  ->  result JSON on stdout
  python hpke_partner.py vectors <path to rfc9180.json>  ->  digests JSON on stdout

request config: {
  "url": "http://127.0.0.1:PORT/partner",   # loopback only
  "serverKid": "...", "serverX": "<base64url raw X25519 public key>",
  "clientKid": "...", "clientD": "<base64url raw X25519 private key>",
  "body": <JSON value>,                      # sent as application/json
  "iat": <int> | null                        # default now; null leaves the header out
}
result: {"status", "contentType", "headers": {wireseal-*}, "body": <JSON>} for a sealed answer,
        {"status", "contentType", "problem": {...}} for a problem.

Format (README of @wireseal/http, "HPKE"):
  body = enc (32 bytes) || ciphertext
  request  info = "wireseal-hpke/1\\nrequest\\n" + serverKid + "\\n" + clientKid
           aad  = iat + "\\n" + cty + "\\n" + wsc            (wsc empty: no context)
  response info = "wireseal-hpke/1\\nresponse\\n" + clientKid
           aad  = iat + "\\n" + cty + "\\n" + wsc + "\\n" + base64url(request enc)
  headers: wireseal-kid, wireseal-client, wireseal-iat, wireseal-cty

`vectors` replays the RFC 9180 vector for the suite the way Go's crypto/hpke test does
(1000 encryptions and 1000 exports over SHAKE128-drawn inputs, digested with SHAKE128).
"""
import base64
import hashlib
import json
import sys
import time
import urllib.error
import urllib.request

from pyhpke import AEADId, CipherSuite, KDFId, KEMId

SUITE = CipherSuite.new(KEMId.DHKEM_X25519_HKDF_SHA256, KDFId.HKDF_SHA256, AEADId.AES256_GCM)
TYPE = 'application/octet-stream+hpke'


def b64u(data):
    return base64.urlsafe_b64encode(data).rstrip(b'=').decode('ascii')


def unb64u(text):
    return base64.urlsafe_b64decode(text + '=' * (-len(text) % 4))


def request(cfg):
    if not cfg['url'].startswith('http://127.0.0.1:'):
        raise SystemExit('loopback URLs only')
    iat = cfg.get('iat', int(time.time()))
    cty = 'application/json'
    info = ('wireseal-hpke/1\nrequest\n%s\n%s' % (cfg['serverKid'], cfg['clientKid'])).encode('ascii')
    aad = ('%s\n%s\n' % ('' if iat is None else iat, cty)).encode('ascii')
    pkr = SUITE.kem.deserialize_public_key(unb64u(cfg['serverX']))
    enc, sender = SUITE.create_sender_context(pkr, info)
    body = enc + sender.seal(json.dumps(cfg['body']).encode('utf-8'), aad)
    headers = {
        'content-type': TYPE,
        'accept': TYPE,
        'wireseal-kid': cfg['serverKid'],
        'wireseal-client': cfg['clientKid'],
        'wireseal-cty': cty,
    }
    if iat is not None:
        headers['wireseal-iat'] = str(iat)
    req = urllib.request.Request(cfg['url'], data=body, method='POST', headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=30) as res:
            status, rh, data = res.status, res.headers, res.read()
    except urllib.error.HTTPError as err:
        status, rh, data = err.code, err.headers, err.read()
    ctype = rh.get('content-type', '')
    out = {'status': status, 'contentType': ctype}
    if ctype.startswith(TYPE):
        kid, r_iat, r_cty = rh['wireseal-kid'], rh['wireseal-iat'], rh.get('wireseal-cty', '')
        r_info = ('wireseal-hpke/1\nresponse\n%s' % kid).encode('ascii')
        r_aad = ('%s\n%s\n\n%s' % (r_iat, r_cty, b64u(enc))).encode('ascii')
        skr = SUITE.kem.deserialize_private_key(unb64u(cfg['clientD']))
        recipient = SUITE.create_recipient_context(data[:32], skr, r_info)
        out['headers'] = {'wireseal-kid': kid, 'wireseal-iat': r_iat, 'wireseal-cty': r_cty}
        out['body'] = json.loads(recipient.open(data[32:], r_aad))
    else:
        out['problem'] = json.loads(data)
    return out


def draws(n):
    """Go's drawRandomInput over the SHAKE128 stream of the empty string."""
    stream = hashlib.shake_128(b'').digest(1 << 20)
    at = 0
    for _ in range(n):
        size = stream[at]
        yield stream[at + 1:at + 1 + size]
        at += 1 + size


def vectors(path):
    with open(path) as f:
        v = next(x for x in json.load(f) if x['mode'] == 0 and x['kem_id'] == 0x20 and x['kdf_id'] == 1 and x['aead_id'] == 2)
    info = bytes.fromhex(v['info'])
    recipient_pair = SUITE.kem.derive_key_pair(bytes.fromhex(v['ikmR']))
    ephemeral = SUITE.kem.derive_key_pair(bytes.fromhex(v['ikmE']))
    pkr = recipient_pair.public_key
    enc, sender = SUITE.create_sender_context(pkr, info, eks=ephemeral)
    recipient = SUITE.create_recipient_context(enc, SUITE.kem.deserialize_private_key(bytes.fromhex(v['skRm'])), info)
    sink = hashlib.shake_128()
    it = draws(2000)
    for _ in range(1000):
        aad, pt = next(it), next(it)
        ct = sender.seal(pt, aad)
        if recipient.open(ct, aad) != pt:
            raise SystemExit('pyhpke could not open its own ciphertext')
        sink.update(ct)
    exports = hashlib.shake_128()
    for length, ctx in enumerate(draws(1000)):
        value = sender.export(ctx, length) if length > 0 else b''
        exports.update(value)
    return {
        'pkRm': pkr.to_public_bytes().hex(),
        'enc': enc.hex(),
        'encryptions': sink.hexdigest(16),
        'exports': exports.hexdigest(16),
    }


def main():
    if sys.argv[1:2] == ['request']:
        json.dump(request(json.load(sys.stdin)), sys.stdout)
    elif sys.argv[1:2] == ['vectors'] and len(sys.argv) == 3:
        json.dump(vectors(sys.argv[2]), sys.stdout)
    else:
        raise SystemExit(__doc__)


if __name__ == '__main__':
    main()
