// An independent JOSE implementation (Nimbus JOSE+JWT) for wireseal's interop test.
// Reads one JSON request per line on stdin, answers one JSON line each:
//   {"op":"open","k":B64URL,"token":T}                 -> {"ok":true,"plaintext":B64URL,"header":{...}} | {"ok":false,"error":E}
//   {"op":"seal","k":B64URL,"kid":K,"alg":"A256KW"|"dir","plaintext":B64URL} -> {"ok":true,"token":T}
// Run: java -cp "$LIBS/*" NimbusInterop.java
import com.nimbusds.jose.*;
import com.nimbusds.jose.crypto.*;
import com.nimbusds.jose.util.Base64URL;
import com.nimbusds.jose.util.JSONObjectUtils;
import java.io.*;
import java.nio.charset.StandardCharsets;
import java.util.*;

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
        byte[] key = new Base64URL((String) req.get("k")).decode();
        if ("open".equals(req.get("op"))) {
          JWEObject jwe = JWEObject.parse((String) req.get("token"));
          JWEAlgorithm alg = jwe.getHeader().getAlgorithm();
          JWEDecrypter dec = JWEAlgorithm.DIR.equals(alg) ? new DirectDecrypter(key) : new AESDecrypter(key);
          jwe.decrypt(dec);
          res.put("ok", true);
          res.put("plaintext", Base64URL.encode(jwe.getPayload().toBytes()).toString());
          res.put("header", jwe.getHeader().toJSONObject());
        } else {
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
}
