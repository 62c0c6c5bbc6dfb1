package io.github.licet;

import com.sun.net.httpserver.HttpServer;
import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A small test runner (no JUnit needed): every conformance vector through
 * the library (with the platform's Ed25519 and with the BouncyCastle
 * fallback), the command line, the encrypted store, and a live `licet
 * serve` (LICET_BIN). Exits 1 when any test fails.
 */
public final class Tests {
    private static int failed, passed;
    private static final Path VECTORS = Path.of(System.getProperty("licet.vectors", "../vectors"));

    interface Body {
        void run() throws Exception;
    }

    static void test(String name, Body b) {
        try {
            b.run();
            passed++;
            System.out.println("ok   " + name);
        } catch (Throwable e) {
            failed++;
            System.out.println("FAIL " + name + ": " + e);
            if (!(e instanceof AssertionError)) e.printStackTrace(System.out);
        }
    }

    static void check(boolean ok, String what) {
        if (!ok) throw new AssertionError(what);
    }

    static void equal(Object got, Object want, String what) {
        if (got == null ? want != null : !got.equals(want)) throw new AssertionError(what + ": got " + got + ", want " + want);
    }

    @SuppressWarnings("unchecked")
    static Map<String, Object> read(String name) throws IOException {
        return (Map<String, Object>) Json.parse(Files.readString(VECTORS.resolve(name)));
    }

    @SuppressWarnings("unchecked")
    static Map<String, Object> m(Object o) { return (Map<String, Object>) o; }

    @SuppressWarnings("unchecked")
    static List<Object> l(Object o) { return (List<Object>) o; }

    static String pemOf(List<Object> names) throws IOException {
        Map<String, Object> keys = m(read("keys.json").get("keys"));
        StringBuilder b = new StringBuilder();
        for (Object n : names) b.append((String) m(keys.get(n)).get("publicKeyPem"));
        return b.toString();
    }

    /** Runs one vector; returns the reason ("ok" when valid) and checks what a valid one says. */
    static String leaseVector(Map<String, Object> c) throws IOException {
        Map<String, Object> ck = m(c.get("check")), exp = m(c.get("expect"));
        Licet.LeaseCheck lc = new Licet.LeaseCheck((String) ck.get("org"), (String) ck.get("user"), (String) ck.get("device"), Licet.parseTimeUnchecked((String) ck.get("now")));
        lc.driftSeconds = Long.parseLong(ck.get("driftSeconds").toString());
        lc.revoked = strings(ck.get("revoked"));
        try {
            Licet.Lease l = Licet.verifyLease((String) c.get("lease"), (String) c.get("signature"), Licet.parsePublicKeys(pemOf(l(c.get("trust")))), lc);
            equal(l.status, exp.get("status"), "status");
            equal(l.licenseType, exp.get("licenseType"), "license type");
            equal(l.expiresAt, exp.get("expires"), "expires");
            return "ok";
        } catch (VerifyException e) {
            return e.reason();
        }
    }

    static String offlineVector(Map<String, Object> c) throws Exception {
        Map<String, Object> ck = m(c.get("check")), exp = m(c.get("expect"));
        Licet.OfflineCheck oc = new Licet.OfflineCheck((String) ck.get("org"), (String) ck.get("url"), (String) ck.get("user"), Licet.parseTimeUnchecked((String) ck.get("now")));
        oc.driftSeconds = Long.parseLong(ck.get("driftSeconds").toString());
        oc.revoked = strings(ck.get("revoked"));
        try {
            Licet.OfflineLicense l = Licet.verifyOffline(Licet.decodeBase64((String) c.get("file")), Licet.parsePublicKeys(pemOf(l(c.get("trust")))), oc);
            equal(l.licenseType, exp.get("licenseType"), "license type");
            equal(l.validUntil, exp.get("expires"), "expires");
            return "ok";
        } catch (VerifyException e) {
            return e.reason();
        }
    }

    static List<String> strings(Object o) {
        List<String> out = new ArrayList<>();
        if (o != null) for (Object x : l(o)) out.add((String) x);
        return out;
    }

    static List<Object> strings0(Object o) { return o == null ? new ArrayList<>() : l(o); }

    static String keySetVector(Map<String, Object> c) throws IOException {
        Map<String, Object> env = m(c.get("keySet")), exp = m(c.get("expect"));
        List<String[]> sigs = new ArrayList<>();
        for (Object o : strings0(env.get("signatures"))) sigs.add(new String[] {(String) m(o).get("kid"), (String) m(o).get("sig")});
        List<String> trust = strings(c.get("trust"));
        Map<String, Licet.TrustedKey> trusted = trust.isEmpty() ? new java.util.HashMap<>() : Licet.parsePublicKeys(pemOf(new ArrayList<Object>(trust)));
        try {
            Licet.KeySet ks = Licet.verifyKeySet((String) env.get("payload"), sigs, trusted, strings(c.get("revoked")));
            List<String> ids = new ArrayList<>();
            for (Licet.KeySetKey k : ks.keys) ids.add(k.id);
            equal(ids, strings(exp.get("keys")), "keys");
            equal(ks.revoked, strings(exp.get("revoked")), "revoked");
            return "ok";
        } catch (VerifyException e) {
            return e.reason();
        }
    }

    static void vectors(String how) throws IOException {
        for (Object o : l(read("keysets.json").get("cases"))) {
            Map<String, Object> c = m(o);
            test(how + "key set: " + c.get("name"), () -> equal(keySetVector(c), m(c.get("expect")).get("reason"), (String) c.get("description")));
        }
        for (Object o : l(read("leases.json").get("cases"))) {
            Map<String, Object> c = m(o);
            test(how + "lease: " + c.get("name"), () -> equal(leaseVector(c), m(c.get("expect")).get("reason"), (String) c.get("description")));
        }
        for (Object o : l(read("offline.json").get("cases"))) {
            Map<String, Object> c = m(o);
            test(how + "offline: " + c.get("name"), () -> equal(offlineVector(c), m(c.get("expect")).get("reason"), (String) c.get("description")));
        }
    }

    /** Runs the command line in this process, capturing stderr. */
    static int cli(StringBuilder err, String... args) {
        PrintStream old = System.err, oldOut = System.out;
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        System.setErr(new PrintStream(b, true, StandardCharsets.UTF_8));
        System.setOut(new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8));
        try {
            return Main.run(args);
        } finally {
            System.setErr(old);
            System.setOut(oldOut);
            err.append(b.toString(StandardCharsets.UTF_8));
        }
    }

    public static void main(String[] args) throws Exception {
        test("there are vectors", () -> check(l(read("leases.json").get("cases")).size() >= 20 && l(read("offline.json").get("cases")).size() >= 20, "too few vectors"));
        vectors("");
        @SuppressWarnings("unchecked")
        Map<String, Object> protocol = (Map<String, Object>) Json.parse(Files.readString(VECTORS.resolve("../../protocol/testdata/vectors.json")));
        test("protocol: canonical GUIDs", () -> {
            for (Object o : l(protocol.get("guid"))) equal(Licet.canonicalGUID((String) m(o).get("in")), m(o).get("canonical"), "" + m(o).get("in"));
        });
        test("protocol: canonical URLs", () -> {
            for (Object o : l(protocol.get("url"))) equal(Licet.canonicalURL((String) m(o).get("in")), m(o).get("canonical"), "" + m(o).get("in"));
        });
        test("protocol: strict JSON", () -> {
            for (Object o : l(protocol.get("strictJson"))) {
                Map<String, Object> c = m(o);
                byte[] b = c.get("docBase64") != null ? Licet.decodeBase64((String) c.get("docBase64")) : ((String) c.get("doc")).getBytes(StandardCharsets.UTF_8);
                boolean ok = true;
                try {
                    Json.parse(Licet.strictUTF8(b));
                } catch (IllegalArgumentException | java.nio.charset.CharacterCodingException e) {
                    ok = false;
                }
                equal(ok, c.get("ok"), "" + c.get("why"));
            }
        });
        Licet.useEd25519(new BouncyCastleEd25519());
        vectors("bouncycastle ");
        Licet.useEd25519(null);

        Path dir = Files.createTempDirectory("licet-java-");
        test("command line: a vector of every reason", () -> {
            Set<String> seen = new HashSet<>();
            for (Object o : l(read("leases.json").get("cases"))) {
                Map<String, Object> c = m(o), ck = m(c.get("check")), exp = m(c.get("expect"));
                if (!seen.add("lease " + exp.get("reason"))) continue;
                Path pem = dir.resolve("k.pem");
                Files.writeString(pem, pemOf(l(c.get("trust"))));
                List<String> a = new ArrayList<>(Arrays.asList("lease", "--key", pem.toString(), "--lease", (String) c.get("lease"), "--signature", (String) c.get("signature"),
                        "--at", (String) ck.get("now"), "--drift", ck.get("driftSeconds") + "s"));
                for (String k : new String[] {"org", "user", "device"}) if (ck.get(k) != null) a.addAll(Arrays.asList("--" + k, (String) ck.get(k)));
                if (ck.get("revoked") != null) a.addAll(Arrays.asList("--revoked", String.join(",", strings(ck.get("revoked")))));
                StringBuilder err = new StringBuilder();
                int code = cli(err, a.toArray(new String[0]));
                equal(code, Boolean.TRUE.equals(exp.get("valid")) ? 0 : 1, c.get("name") + " " + err);
                if (code == 1) check(err.toString().startsWith("licet-verify: " + exp.get("reason") + ": "), c.get("name") + ": " + err);
            }
            for (Object o : l(read("offline.json").get("cases"))) {
                Map<String, Object> c = m(o), ck = m(c.get("check")), exp = m(c.get("expect"));
                if (!seen.add("offline " + exp.get("reason"))) continue;
                Path pem = dir.resolve("k.pem"), f = dir.resolve("f.lic");
                Files.writeString(pem, pemOf(l(c.get("trust"))));
                Files.write(f, Licet.decodeBase64((String) c.get("file")));
                StringBuilder err = new StringBuilder();
                int code = cli(err, "offline", f.toString(), "--key", pem.toString(), "--org", (String) ck.get("org"), "--url", (String) ck.get("url"),
                        "--user", (String) ck.get("user"), "--at", (String) ck.get("now"), "--drift", ck.get("driftSeconds") + "s", "--revoked", String.join(",", strings(ck.get("revoked"))));
                equal(code, Boolean.TRUE.equals(exp.get("valid")) ? 0 : 1, c.get("name") + " " + err);
                if (code == 1) check(err.toString().startsWith("licet-verify: " + exp.get("reason") + ": "), c.get("name") + ": " + err);
            }
        });
        test("command line: --max-lease raises the longest lease believed", () -> {
            for (Object o : l(read("leases.json").get("cases"))) {
                Map<String, Object> c = m(o);
                if (!c.get("name").equals("too-long")) continue;
                Path pem = dir.resolve("long.pem");
                Files.writeString(pem, pemOf(l(c.get("trust"))));
                String[] a = {"lease", "--key", pem.toString(), "--lease", (String) c.get("lease"), "--signature", (String) c.get("signature"), "--at", (String) m(c.get("check")).get("now")};
                StringBuilder err = new StringBuilder();
                equal(cli(err, a), 1, err.toString());
                List<String> more = new ArrayList<>(Arrays.asList(a));
                more.addAll(Arrays.asList("--max-lease", "200h"));
                equal(cli(err, more.toArray(new String[0])), 0, err.toString());
            }
        });
        test("command line: mistakes exit 2 with one line", () -> {
            Path pem = dir.resolve("k.pem");
            String[][] bad = {{}, {"lease"}, {"lease", "--key", pem.toString()}, {"offline", "--key", pem.toString()}, {"lease", "--bogus", "x"},
                {"lease", "--key", dir.resolve("missing.pem").toString(), "--lease", "x", "--signature", "y"},
                {"lease", "--key", pem.toString(), "--lease", "x", "--signature", "y", "--max-lease", "a week"}, {"offline", "f", "--key", pem.toString(), "--org", "o", "--url", "u", "--user", "u", "--at", "yesterday"}};
            for (String[] a : bad) {
                StringBuilder err = new StringBuilder();
                equal(cli(err, a), 2, String.join(" ", a) + ": " + err);
                equal(err.toString().trim().split("\n").length, 1, "one line: " + err);
            }
        });
        test("the jar's main class runs", () -> {
            Process p = new ProcessBuilder("java", "-jar", "build/licet.jar", "lease").redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            equal(p.waitFor(), 2, out);
            check(out.contains("--key is required"), out);
        });
        test("encrypted store: round trip, another key, damage", () -> {
            File f = dir.resolve("device.store").toFile();
            byte[] key = new byte[32];
            key[0] = 7;
            Client.State st = new Client.State();
            st.lease = "bGVhc2U=";
            st.signature = "c2ln";
            st.latestTrusted = Licet.parseTime("2026-03-01T08:00:00Z");
            st.pinnedKeys.put("abc", "AAAA");
            new Client.EncryptedFileStore(f, key).save(st);
            Client.State back = new Client.EncryptedFileStore(f, key).load();
            equal(back.lease, st.lease, "lease");
            equal(back.latestTrusted, st.latestTrusted, "latest trusted");
            equal(back.pinnedKeys, st.pinnedKeys, "pins");
            try {
                new Client.EncryptedFileStore(f, new byte[32]).load();
                throw new AssertionError("opened under another key");
            } catch (Client.StoreCorruptException expected) {
                // as it should
            }
            byte[] b = Files.readAllBytes(f.toPath());
            b[b.length - 1] ^= 1;
            Files.write(f.toPath(), b);
            try {
                new Client.EncryptedFileStore(f, key).load();
                throw new AssertionError("a damaged file opened");
            } catch (Client.StoreCorruptException expected) {
                // as it should
            }
        });
        String bin = System.getenv("LICET_BIN");
        if (bin == null || bin.isEmpty()) {
            test("live server", () -> {
                throw new AssertionError("LICET_BIN (the licet binary) is required: sdk/java/test.sh builds it");
            });
        } else {
            live(bin, dir);
        }
        System.out.println(passed + " passed, " + failed + " failed");
        System.exit(failed == 0 ? 0 : 1);
    }

    static final String ORG = "4F767AFF-B33F-437C-A7CB-00249948C82B", USER = "661BAC34-1128-40B1-9653-00B9F54158CD", DEVICE = "java-device-1";

    static String run(Path data, String server, String bin, String... args) throws Exception {
        List<String> cmd = new ArrayList<>();
        cmd.add(bin);
        cmd.addAll(Arrays.asList(args));
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
        pb.environment().put("LICET_SERVER", server);
        pb.environment().put("LICET_TOKEN_FILE", data.resolve("operator-token").toString());
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (p.waitFor() != 0) throw new AssertionError("licet " + String.join(" ", args) + ": " + out);
        return out;
    }

    static void live(String bin, Path dir) throws Exception {
        Path data = dir.resolve("data");
        byte[][] offline = {null};
        HttpServer backend = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        backend.createContext("/crm/licet-offline.lic", x -> {
            byte[] b = offline[0];
            x.sendResponseHeaders(b == null ? 404 : 200, b == null ? -1 : b.length);
            if (b != null) x.getResponseBody().write(b);
            x.close();
        });
        backend.start();
        String backendURL = "http://127.0.0.1:" + backend.getAddress().getPort() + "/crm";
        Process serve = new ProcessBuilder(bin, "serve", "--listen", "127.0.0.1:0", "--data", data.toString()).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
        try {
            String url = serverURL(serve.getErrorStream());
            run(data, url, bin, "org", "create", "--id", ORG, "--name", "testcrm", "--url", backendURL);
            run(data, url, bin, "pool", "add", "--org", ORG, "--type", "Standard", "--seats", "5");
            run(data, url, bin, "org", "set", "--org", ORG, "--auto-assign=true", "--offline=true");
            run(data, url, bin, "user", "assign", "--org", ORG, "--user", USER);
            String pem = run(data, url, bin, "keys", "public");
            Files.writeString(dir.resolve("public.pem"), pem);
            Map<String, Licet.TrustedKey> keys = Licet.parsePublicKeys(pem);
            Client.Request req = new Client.Request();
            req.organizationId = ORG;
            req.userId = USER;
            req.deviceId = DEVICE;
            req.organizationUrl = backendURL;
            Client.Config cfg = new Client.Config();
            cfg.primary = url;
            cfg.keys = keys;
            cfg.request = req;
            byte[] storeKey = new byte[32];
            new java.security.SecureRandom().nextBytes(storeKey);
            cfg.store = new Client.EncryptedFileStore(dir.resolve("live.store").toFile(), storeKey);

            test("live: a lease from the server verifies (library and command line)", () -> {
                Client.Outcome o = new Client(cfg).check();
                check(o.licensed && o.source.equals("primary"), "outcome " + o.source + " " + o.status + " " + o.steps);
                equal(o.licenseType, "Standard", "type");
                check(o.expires > System.currentTimeMillis(), "expires in the future");
                StringBuilder err = new StringBuilder();
                equal(cli(err, "lease", "--key", dir.resolve("public.pem").toString(), "--lease", Licet.encodeBase64(o.lease.payload),
                        "--signature", Licet.encodeBase64(o.lease.signature), "--org", ORG.toLowerCase(), "--user", USER, "--device", DEVICE), 0, err.toString());
                err.setLength(0);
                equal(cli(err, "lease", "--key", dir.resolve("public.pem").toString(), "--lease", Licet.encodeBase64(o.lease.payload),
                        "--signature", Licet.encodeBase64(o.lease.signature), "--user", "00000000-0000-0000-0000-000000000009"), 1, err.toString());
                check(err.toString().contains("wrong-user"), err.toString());
            });
            test("live: keys fetched once and pinned, never over plain http unless allowed", () -> {
                Client.Config c2 = new Client.Config();
                c2.primary = url;
                c2.request = req;
                c2.store = new Client.MemoryStore();
                Client.Outcome o = new Client(c2).check();
                check(!o.licensed && o.steps.get(0).code.equals("no-trusted-keys"), "" + o.steps);
                c2.allowInsecureKeyFetch = true;
                o = new Client(c2).check();
                check(o.licensed && o.source.equals("primary"), "" + o.steps);
                equal(c2.store.load().pinnedKeys.keySet(), keys.keySet(), "pinned");
            });
            test("live: after keys rotate and keys revoke, the device learns the revocation from the signed key set", () -> {
                String oldLease = Licet.encodeBase64(new Client(cfg).check().lease.payload);
                String oldSig = Licet.encodeBase64(new Client(cfg).check().lease.signature);
                String oldKid = keys.keySet().iterator().next();
                run(data, url, bin, "keys", "rotate");
                Map<String, Licet.TrustedKey> both = Licet.parsePublicKeys(run(data, url, bin, "keys", "public"));
                equal(both.size(), 2, "keys after a rotation");
                run(data, url, bin, "keys", "revoke", oldKid);
                Client.Config c3 = new Client.Config();
                c3.primary = url;
                c3.request = req;
                c3.keys = both;
                c3.allowInsecureKeyFetch = true;
                c3.store = new Client.MemoryStore();
                Client.Outcome o = new Client(c3).check();
                check(o.licensed && o.source.equals("primary"), "" + o.steps);
                check(!o.lease.keyId.equals(oldKid), "signed by the new key");
                equal(c3.store.load().revokedKeys, Arrays.asList(oldKid), "revoked");
                // The old key's lease is refused for ever on this device, by the library and the command line.
                Licet.LeaseCheck lc = new Licet.LeaseCheck(ORG, USER, DEVICE, System.currentTimeMillis());
                lc.revoked = c3.store.load().revokedKeys;
                try {
                    Licet.verifyLease(oldLease, oldSig, both, lc);
                    throw new AssertionError("a revoked key's lease verified");
                } catch (VerifyException e) {
                    equal(e.reason(), "revoked-key", e.getMessage());
                }
                StringBuilder err = new StringBuilder();
                equal(cli(err, "lease", "--key", dir.resolve("public.pem").toString(), "--lease", oldLease, "--signature", oldSig, "--revoked", oldKid), 1, err.toString());
                check(err.toString().contains("revoked-key"), err.toString());
                cfg.keys = both; // the app ships the new key too
                Files.writeString(dir.resolve("public.pem"), run(data, url, bin, "keys", "public"));
            });
            test("live: an offline license from the server verifies (library and command line)", () -> {
                run(data, url, bin, "offline", "issue", "--org", ORG, "--out", dir.resolve("offline.lic").toString());
                offline[0] = Files.readAllBytes(dir.resolve("offline.lic"));
                Licet.OfflineLicense l = Licet.verifyOffline(offline[0], cfg.keys, new Licet.OfflineCheck(ORG, backendURL + "/", USER.toLowerCase(), System.currentTimeMillis()));
                equal(l.licenseType, "Standard", "type");
                StringBuilder err = new StringBuilder();
                equal(cli(err, "offline", dir.resolve("offline.lic").toString(), "--key", dir.resolve("public.pem").toString(), "--org", ORG, "--url", backendURL, "--user", USER), 0, err.toString());
                err.setLength(0);
                equal(cli(err, "offline", dir.resolve("offline.lic").toString(), "--key", dir.resolve("public.pem").toString(), "--org", ORG, "--url", "https://evil.example.net", "--user", USER), 1, err.toString());
                check(err.toString().contains("wrong-url"), err.toString());
            });
            test("live: the encrypted store is the Go client's, both ways (licet check writes, this library reads, and back)", () -> {
                byte[] key = new byte[32];
                Arrays.fill(key, (byte) 0x22);
                StringBuilder hex = new StringBuilder();
                for (byte b : key) hex.append(String.format("%02x", b));
                Files.writeString(dir.resolve("store.key"), hex.toString());
                Path f = dir.resolve("shared.store");
                String[] goCheck = {"check", "--org", ORG, "--user", USER, "--device", DEVICE, "--url", backendURL, "--key", dir.resolve("public.pem").toString(),
                    "--store", f.toString(), "--store-key-file", dir.resolve("store.key").toString(), "--server"};
                List<String> a = new ArrayList<>(Arrays.asList(goCheck));
                a.add(url);
                run(data, url, bin, a.toArray(new String[0]));
                Client.Config c4 = new Client.Config();
                c4.primary = "http://127.0.0.1:1";
                c4.keys = cfg.keys;
                c4.request = req;
                c4.store = new Client.EncryptedFileStore(f.toFile(), key);
                byte[] saved = offline[0];
                offline[0] = null; // no offline license: only the stored lease can decide
                try {
                    Client.Outcome o = new Client(c4).check();
                    check(o.licensed && o.source.equals("cache"), o.source + " " + o.steps);
                    a.set(a.size() - 1, "http://127.0.0.1:1");
                    check(run(data, url, bin, a.toArray(new String[0])).contains("cache"), "Go read the store this library wrote");
                } finally {
                    offline[0] = saved;
                }
            });
            test("live: primary down, then the offline license, then the stored lease", () -> {
                serve.destroy();
                serve.waitFor(10, TimeUnit.SECONDS);
                Client.Outcome o = new Client(cfg).check();
                check(o.licensed && o.source.equals("offline"), o.source + " " + o.steps);
                equal(o.steps.get(0).code, "unreachable", "the primary's step");
                offline[0] = null;
                o = new Client(cfg).check();
                check(o.licensed && o.source.equals("cache"), o.source + " " + o.steps);
                equal(o.steps.size(), 2, "steps " + o.steps);
                equal(o.steps.get(1).code, "no-offline", "the offline step");
            });
        } finally {
            serve.destroy();
            backend.stop(0);
        }
    }

    static String serverURL(InputStream logs) throws IOException {
        Pattern p = Pattern.compile("\"msg\":\"licet serving\",\"addr\":\"([^\"]+)\"");
        StringBuilder b = new StringBuilder();
        for (int c; (c = logs.read()) >= 0;) {
            b.append((char) c);
            Matcher m = p.matcher(b);
            if (c == '\n' && m.find()) {
                Thread drain = new Thread(() -> {
                    try {
                        logs.transferTo(java.io.OutputStream.nullOutputStream());
                    } catch (IOException ignored) {
                        // the server stopped
                    }
                });
                drain.setDaemon(true);
                drain.start();
                return "http://" + m.group(1);
            }
        }
        throw new IOException("licet serve stopped before listening: " + b);
    }
}
