// An independent JOSE implementation (Nimbus JOSE+JWT) for wireseal's interop test.
// Reads one JSON request per line on stdin, answers one JSON line each:
//   {"op":"open","k":B64URL,"token":T}                 -> {"ok":true,"plaintext":B64URL,"header":{...}} | {"ok":false,"error":E}
//   {"op":"open","jwk":{...},"token":T}                -> the same, with a JWK: oct (A256KW/dir), or a private RSA
//                                                         (RSA-OAEP-256), EC P-256 or OKP X25519 key (ECDH-ES+A256KW)
//   {"op":"seal","k":B64URL,"kid":K,"alg":"A256KW"|"dir","plaintext":B64URL} -> {"ok":true,"token":T}
// Run: java -cp "$LIBS/*" NimbusInterop.java
import com.nimbusds.jose.*;
import com.nimbusds.jose.crypto.*;
import com.nimbusds.jose.crypto.impl.ECDHCryptoProvider;
import com.nimbusds.jose.jwk.*;
import com.nimbusds.jose.util.Base64URL;
import com.nimbusds.jose.util.JSONObjectUtils;
import java.io.*;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.security.KeyFactory;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.spec.NamedParameterSpec;
import java.security.spec.XECPrivateKeySpec;
import java.security.spec.XECPublicKeySpec;
import java.util.*;
import javax.crypto.KeyAgreement;
import javax.crypto.SecretKey;
import javax.crypto.spec.SecretKeySpec;

public class NimbusInterop {
  public static void main(String[] args) throws Exception {
    BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
    PrintStream out = new PrintStream(System.out, true, StandardCharsets.UTF_8);
    String line;
    while ((line = in.readLine()) != null) {
      if (line.isBlank()) continue;
      Map<String, Object> res = new LinkedHashMap<>();
      try {
        Map<String, Object> req = JSONObjectUtils.parse(line);
        if ("open".equals(req.get("op"))) {
          JWEObject jwe = JWEObject.parse((String) req.get("token"));
          JWEAlgorithm alg = jwe.getHeader().getAlgorithm();
          JWEDecrypter dec;
          if (req.containsKey("jwk")) {
            dec = decrypterFor(JWK.parse(JSONObjectUtils.getJSONObject(req, "jwk")), alg);
          } else {
            byte[] key = new Base64URL((String) req.get("k")).decode();
            dec = JWEAlgorithm.DIR.equals(alg) ? new DirectDecrypter(key) : new AESDecrypter(key);
          }
          jwe.decrypt(dec);
          res.put("ok", true);
          res.put("plaintext", Base64URL.encode(jwe.getPayload().toBytes()).toString());
          res.put("header", jwe.getHeader().toJSONObject());
        } else {
          byte[] key = new Base64URL((String) req.get("k")).decode();
          JWEAlgorithm alg = JWEAlgorithm.parse((String) req.get("alg"));
          JWEHeader header = new JWEHeader.Builder(alg, EncryptionMethod.A256GCM).keyID((String) req.get("kid")).build();
          JWEObject jwe = new JWEObject(header, new Payload(new Base64URL((String) req.get("plaintext")).decode()));
          jwe.encrypt(JWEAlgorithm.DIR.equals(alg) ? new DirectEncrypter(key) : new AESEncrypter(key));
          res.put("ok", true);
          res.put("token", jwe.serialize());
        }
      } catch (Exception e) {
        res.put("ok", false);
        res.put("error", e.getClass().getSimpleName() + ": " + e.getMessage());
      }
      out.println(JSONObjectUtils.toJSONString(res));
    }
  }

  /** Nimbus's decrypter for a JWK: the one for its key type (the token's alg must match it). */
  static JWEDecrypter decrypterFor(JWK jwk, JWEAlgorithm alg) throws JOSEException {
    if (jwk instanceof RSAKey rsa) return new RSADecrypter(rsa);
    if (jwk instanceof ECKey ec) return new ECDHDecrypter(ec);
    if (jwk instanceof OctetKeyPair okp) return new JdkX25519Decrypter(okp);
    byte[] k = ((OctetSequenceKey) jwk).toByteArray();
    return JWEAlgorithm.DIR.equals(alg) ? new DirectDecrypter(k) : new AESDecrypter(k);
  }

  /**
   * ECDH-ES on X25519. Nimbus's own X25519Decrypter needs Google Tink on the
   * classpath for the curve arithmetic; this is the same decrypter with the
   * X25519 agreement from the JDK (XDH, Java 11+) instead. Everything else is
   * Nimbus: the epk checks, the Concat KDF, the AES key unwrap and A256GCM
   * (ECDHCryptoProvider.decryptWithZ).
   */
  static final class JdkX25519Decrypter extends ECDHCryptoProvider implements JWEDecrypter {
    private final OctetKeyPair key;

    JdkX25519Decrypter(OctetKeyPair key) throws JOSEException {
      super(key.getCurve(), null);
      if (!Curve.X25519.equals(key.getCurve()) || !key.isPrivate()) throw new JOSEException("an X25519 private key is required");
      this.key = key;
    }

    @Override
    public Set<Curve> supportedEllipticCurves() {
      return Collections.singleton(Curve.X25519);
    }

    @Override
    public byte[] decrypt(JWEHeader header, Base64URL encryptedKey, Base64URL iv, Base64URL cipherText, Base64URL authTag, byte[] aad) throws JOSEException {
      if (!(header.getEphemeralPublicKey() instanceof OctetKeyPair epk) || !Curve.X25519.equals(epk.getCurve())) {
        throw new JOSEException("epk must be an OKP X25519 public key");
      }
      try {
        KeyFactory kf = KeyFactory.getInstance("XDH");
        PrivateKey priv = kf.generatePrivate(new XECPrivateKeySpec(NamedParameterSpec.X25519, key.getDecodedD()));
        PublicKey pub = kf.generatePublic(new XECPublicKeySpec(NamedParameterSpec.X25519, littleEndian(epk.getDecodedX())));
        KeyAgreement ka = KeyAgreement.getInstance("XDH");
        ka.init(priv);
        ka.doPhase(pub, true);
        SecretKey z = new SecretKeySpec(ka.generateSecret(), "AES");
        return decryptWithZ(header, aad, z, encryptedKey, iv, cipherText, authTag);
      } catch (java.security.GeneralSecurityException e) {
        throw new JOSEException("X25519 key agreement failed: " + e.getMessage(), e);
      }
    }

    /** RFC 7748 §5: the u-coordinate is little-endian, its top bit masked. */
    private static BigInteger littleEndian(byte[] x) {
      byte[] be = new byte[x.length];
      for (int i = 0; i < x.length; i++) be[i] = x[x.length - 1 - i];
      be[0] &= 0x7f;
      return new BigInteger(1, be);
    }
  }
}
