package io.github.licet;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

/**
 * Verifies the "valid" lease vector N times and prints the time per
 * verification (docs/BENCHMARKS.md). After ./test.sh:
 * java -cp build/classes:build/test-classes io.github.licet.Bench [N]
 * (-Dlicet.bc=1 with bcprov.jar on the class path: BouncyCastle's Ed25519).
 */
public final class Bench {
    private Bench() {}

    public static void main(String[] args) throws Exception {
        Path dir = Path.of(System.getProperty("licet.vectors", "../vectors"));
        Map<String, Object> c = Tests.m(Tests.l(Tests.m(Json.parse(Files.readString(dir.resolve("leases.json")))).get("cases")).get(0));
        Map<String, Object> ck = Tests.m(c.get("check"));
        Map<String, Licet.TrustedKey> keys = Licet.parsePublicKeys(Tests.pemOf(Tests.l(c.get("trust"))));
        Licet.LeaseCheck lc = new Licet.LeaseCheck((String) ck.get("org"), (String) ck.get("user"), (String) ck.get("device"), Licet.parseTime((String) ck.get("now")));
        String how = "platform Ed25519";
        if (System.getProperty("licet.bc") != null) {
            Licet.useEd25519(new BouncyCastleEd25519());
            how = "BouncyCastle Ed25519";
        }
        int n = args.length > 0 ? Integer.parseInt(args[0]) : 2000;
        String lease = (String) c.get("lease"), sig = (String) c.get("signature");
        for (int i = 0; i < 2000; i++) Licet.verifyLease(lease, sig, keys, lc); // warm up the JIT
        long t0 = System.nanoTime();
        for (int i = 0; i < n; i++) Licet.verifyLease(lease, sig, keys, lc);
        double us = (System.nanoTime() - t0) / 1000.0 / n;
        System.out.printf("verifyLease: %d verifications, %.1f µs each (java %s, %s)%n", n, us, System.getProperty("java.version"), how);
    }
}
