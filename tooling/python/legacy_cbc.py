"""The legacy AES-CBC snippet many services use, with PyCryptodome, as the peer for
wireseal's legacy reader and insecure writer (docs/format.md section 11).

  python legacy_cbc.py encrypt < {"cases": [{"id", "key": hex, "plaintext": text, "iv": hex?}]}  -> {id: value}
  python legacy_cbc.py decrypt < {"cases": [{"id", "key": hex, "value": base64}]}
      -> {id: {"plaintext": text} | {"error": "..."}}
"""
import base64, json, sys
from Crypto.Cipher import AES
from Crypto.Random import get_random_bytes
from Crypto.Util.Padding import pad, unpad


def encrypt(key, text, iv=None):
    iv = iv or get_random_bytes(16)
    cipher = AES.new(key, AES.MODE_CBC, iv)
    return base64.b64encode(iv + cipher.encrypt(pad(text.encode('utf-8'), AES.block_size))).decode('ascii')


def decrypt(key, value):
    raw = base64.b64decode(value, validate=True)
    cipher = AES.new(key, AES.MODE_CBC, raw[:16])
    return unpad(cipher.decrypt(raw[16:]), AES.block_size).decode('utf-8')


def run(mode, cases):
    out = {}
    for c in cases:
        key = bytes.fromhex(c['key'])
        if mode == 'encrypt':
            out[c['id']] = encrypt(key, c['plaintext'], bytes.fromhex(c['iv']) if c.get('iv') else None)
        else:
            try:
                out[c['id']] = {'plaintext': decrypt(key, c['value'])}
            except (ValueError, UnicodeDecodeError) as e:
                out[c['id']] = {'error': type(e).__name__}
    return out


if __name__ == '__main__':
    mode = sys.argv[1] if len(sys.argv) > 1 else ''
    if mode not in ('encrypt', 'decrypt'):
        sys.exit('usage: legacy_cbc.py encrypt|decrypt < request.json')
    json.dump(run(mode, json.load(sys.stdin)['cases']), sys.stdout)
