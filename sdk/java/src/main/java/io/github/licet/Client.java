package io.github.licet;

import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.HttpURLConnection;
import java.net.URL;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import javax.crypto.Cipher;
import javax.crypto.SecretKey;
import javax.crypto.spec.GCMParameterSpec;
import javax.crypto.spec.SecretKeySpec;

/**
 * A device's whole license check (docs/CLIENT.md): the primary, then the
 * offline license on the organization's backend, then the backup, then the
 * last verified lease kept on the device. HTTP and storage are pluggable.
 */
public final class Client {
    /** The MobileClient record the device sends. */
    public static final class Request {
        public String organizationId, userId, deviceId, organizationUrl = "", organizationName = "", version = "", edition = "", deviceInfo = "";

        Map<String, Object> toJson() {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("version", version);
            m.put("edition", edition);
            m.put("deviceId", deviceId);
            m.put("deviceInfo", deviceInfo);
            m.put("organizationId", organizationId);
            m.put("organizationUrl", organizationUrl);
            m.put("organizationName", organizationName);
            m.put("userId", userId);
            return m;
        }
    }

    /** One HTTP answer. */
    public static final class Response {
        public final int status;
        public final byte[] body;

        public Response(int status, byte[] body) {
            this.status = status;
            this.body = body;
        }
    }

    /** Sends one request; throws IOException when the server cannot be reached. It must not follow redirects. */
    public interface Transport {
        Response send(String method, String url, String contentType, byte[] body, int timeoutMillis, int maxBytes) throws IOException;
    }

    /** The device clock, in milliseconds since 1970. */
    public interface Clock {
        long now();
    }

    /** What the device keeps between checks (the Go client's store fields). */
    public static final class State {
        /** base64 of the last verified lease's payload bytes, and its signature. */
        public String lease, signature;
        /** The latest time a signed document vouched for, in milliseconds (0: none). */
        public long latestTrusted;
        /** The latest device clock reading or believed iat, in milliseconds (0: none). */
        public long latestSeen;
        /** When the signed key set was last fetched and applied (0: never). */
        public long keysFetched;
        /** Key ID → base64 of the raw key, when the app configured none. */
        public Map<String, String> pinnedKeys = new LinkedHashMap<>();
        /** Key IDs a verified key set revoked: never trusted again. */
        public List<String> revokedKeys = new ArrayList<>();

        void saw(long iat) {
            if (iat > latestTrusted) latestTrusted = iat;
            if (iat > latestSeen) latestSeen = iat;
        }
    }

    /** Where the state lives. load() returns null for none and throws StoreCorruptException for a damaged one. */
    public interface Store {
        State load() throws IOException, StoreCorruptException;

        void save(State s) throws IOException;
    }

    public static final class StoreCorruptException extends Exception {
        private static final long serialVersionUID = 1L;

        public StoreCorruptException() { super("local store: corrupted, tampered with, or under another key; starting empty"); }
    }

    /** Configuration; the zero values take the defaults. */
    public static final class Config {
        public String primary, backup, offlineURL;
        public Request request;
        /** The pinned vendor keys. Without them the client fetches /v1/keys once over https and pins them in the store. */
        public Map<String, Licet.TrustedKey> keys;
        /** Lets the first key fetch use plain http (tests on loopback only). */
        public boolean allowInsecureKeyFetch;
        public Store store;
        public Transport transport = new UrlConnectionTransport();
        public int stepTimeoutMillis = 5000, deadlineMillis = 15000;
        public long driftSeconds = 300;
        /** How often the signed key set is fetched again to learn of revocations (negative: only for an unknown key). */
        public long keyRefreshSeconds = 24 * 3600;
        public long maxLeaseSeconds = Licet.DEFAULT_MAX_LEASE_SECONDS;
        public long maxOfflineValiditySeconds = Licet.MAX_OFFLINE_VALIDITY_SECONDS;
        public Clock clock = new Clock() {
            @Override public long now() { return System.currentTimeMillis(); }
        };
    }

    /** One source that did not decide, and why. */
    public static final class Step {
        public final String source, code, reason;

        Step(String source, String code, String reason) {
            this.source = source;
            this.code = code;
            this.reason = reason;
        }

        @Override public String toString() { return source + ": " + code + ": " + reason; }
    }

    /** A whole check's result. */
    public static final class Outcome {
        public boolean licensed;
        public String status = "Unreachable", licenseType = "", message = "", source = "none";
        /** Until when the device may work without asking again (ms since 1970; 0: not licensed). */
        public long expires;
        public Licet.Lease lease;
        public Licet.OfflineLicense offline;
        public final List<Step> steps = new ArrayList<>();

        /** Whether some source decided (licensed or not), as opposed to nothing reachable and no usable stored lease. */
        public boolean decided() { return !source.equals("none"); }
    }

    static final int MAX_OFFLINE_BYTES = 8 << 20;

    private final Config c;
    private long deadline;

    public Client(Config c) {
        if (c.request == null || empty(c.request.organizationId) || empty(c.request.userId) || empty(c.request.deviceId))
            throw new IllegalArgumentException("request needs organizationId, userId and deviceId");
        this.c = c;
    }

    private static boolean empty(String s) { return s == null || s.trim().isEmpty(); }

    private static final class StepFailure extends Exception {
        private static final long serialVersionUID = 1L;
        final String code;

        StepFailure(String code, String message) {
            super(message);
            this.code = code;
        }
    }

    private static Step step(String source, String code, String reason) { return new Step(source, code, reason); }

    /** Runs the whole order. It does not throw for a failed source; only a failing store save throws. */
    public Outcome check() throws IOException {
        deadline = System.currentTimeMillis() + c.deadlineMillis;
        Outcome o = new Outcome();
        State st = new State();
        if (c.store != null) {
            try {
                State loaded = c.store.load();
                if (loaded != null) st = loaded;
            } catch (StoreCorruptException e) {
                o.steps.add(step("cache", "store-corrupt", e.getMessage()));
            }
        }
        // The clock reading of this check; the store keeps the latest one
        // (and the latest believed iat), so a clock set back is noticed even
        // when no signed document came in since.
        long now = c.clock.now();
        long latest = Math.max(st.latestSeen, st.latestTrusted);
        boolean rollback = latest > 0 && now < latest - c.driftSeconds * 1000;
        if (now > st.latestSeen) st.latestSeen = now;
        Map<String, Licet.TrustedKey> keys;
        try {
            keys = trustedKeys(st);
        } catch (StepFailure e) {
            o.steps.add(step("primary", e.code, e.getMessage()));
            if (rollback) {
                o.steps.add(step("cache", "clock-rollback", ROLLBACK));
                return finish(o, st);
            }
            return finish(fromCache(o, st, null), st);
        }
        if (server("primary", c.primary, keys, st, o)) return finish(o, st);
        if (!rollback) {
            if (offline(keys, st, o)) return finish(o, st);
        } else {
            o.steps.add(step("offline", "clock-rollback", ROLLBACK));
        }
        if (!empty(c.backup) && server("backup", c.backup, keys, st, o)) return finish(o, st);
        if (rollback) {
            o.steps.add(step("cache", "clock-rollback", ROLLBACK));
            return finish(o, st);
        }
        return finish(fromCache(o, st, keys), st);
    }

    private static final String ROLLBACK = "the device clock is earlier than a time a signed document vouched for: not trusting local data";

    private Outcome finish(Outcome o, State st) throws IOException {
        if (c.store != null) c.store.save(st);
        return o;
    }

    private int stepTimeout() throws IOException {
        long left = deadline - System.currentTimeMillis();
        if (left <= 0) throw new IOException("the check's deadline passed");
        return (int) Math.min(c.stepTimeoutMillis, left);
    }

    private static String trimSlash(String s) { return s.replaceFirst("/+$", ""); }

    private boolean server(String src, String base, Map<String, Licet.TrustedKey> keys, State st, Outcome o) {
        if (empty(base)) {
            o.steps.add(step(src, "unreachable", "cannot be reached: no URL configured"));
            return false;
        }
        Response r;
        try {
            r = c.transport.send("POST", trimSlash(base) + "/v1/license/check", "application/json",
                    Json.write(c.request.toJson()).getBytes(StandardCharsets.UTF_8), stepTimeout(), 1 << 20);
        } catch (IOException e) {
            o.steps.add(step(src, "unreachable", "cannot be reached: " + e.getMessage()));
            return false;
        }
        if (r.status >= 500 || r.status == 429) {
            o.steps.add(step(src, "unreachable", "cannot be reached: " + r.status));
            return false;
        }
        Map<?, ?> a = null;
        try {
            Object v = Json.parse(Licet.utf8(r.body));
            if (v instanceof Map) a = (Map<?, ?>) v;
        } catch (IllegalArgumentException e) {
            // not JSON: refused below
        }
        if (a == null || r.status >= 400) {
            o.steps.add(step(src, "refused", "the server refused the check: " + r.status));
            return false;
        }
        String status = s(a.get("status")), type = s(a.get("licenseType")), message = s(a.get("message"));
        if (!Boolean.TRUE.equals(a.get("licensed"))) {
            // A live server's "no" ends the walk and forgets the stored
            // lease: a user disabled now must not work on from the cache
            // once the licensing host is blocked. It is not signed: at worst
            // a forger makes a device stop working, never work unlicensed. A
            // backup's ReadOnlyServer ("cannot assign") is no revocation.
            o.source = src;
            o.status = status;
            o.message = message;
            o.licenseType = type;
            if (!status.equals("ReadOnlyServer")) {
                st.lease = null;
                st.signature = null;
            }
            return true;
        }
        Licet.Lease l = null;
        VerifyException err = null;
        try {
            l = verify(s(a.get("lease")), s(a.get("signature")), keys, st);
        } catch (VerifyException e) {
            err = e;
            if (e.reason().equals("unknown-key")) {
                // The server may have rotated its key (or revoked one): fetch
                // the signed key set again; new keys join the pins when the
                // app configured none.
                try {
                    keys = refreshKeys(st);
                    l = verify(s(a.get("lease")), s(a.get("signature")), keys, st);
                    err = null;
                } catch (VerifyException e2) {
                    err = e2;
                } catch (StepFailure e2) {
                    // not believed below
                }
            }
        }
        if (err != null && Arrays.asList("revoked-key", "issued-in-future", "too-long").contains(err.reason())) {
            o.steps.add(step(src, err.reason(), err.getMessage()));
            return false;
        }
        if (l == null || !l.status.equals(status) || !l.licenseType.equals(type)) {
            o.steps.add(step(src, "forged", "the answer's lease does not verify: not believed"));
            return false;
        }
        long iat = parseOrZero(l.issuedAt);
        if (st.latestTrusted > 0 && iat < st.latestTrusted - c.driftSeconds * 1000) {
            o.steps.add(step(src, "replayed", "the answer's lease is older than one already seen: a replay, not believed"));
            return false;
        }
        o.licensed = true;
        o.source = src;
        o.status = l.status;
        o.licenseType = l.licenseType;
        o.message = message;
        o.lease = l;
        o.expires = parseOrZero(l.expiresAt);
        st.lease = Licet.encodeBase64(l.payload);
        st.signature = Licet.encodeBase64(l.signature);
        st.saw(iat);
        return true;
    }

    private static String s(Object v) { return v instanceof String ? (String) v : ""; }

    private static long parseOrZero(String t) {
        try {
            return Licet.parseTime(t);
        } catch (VerifyException e) {
            return 0;
        }
    }

    private Licet.Lease verify(String lease, String sig, Map<String, Licet.TrustedKey> keys, State st) throws VerifyException {
        Licet.LeaseCheck lc = new Licet.LeaseCheck(c.request.organizationId, c.request.userId, c.request.deviceId, c.clock.now());
        lc.driftSeconds = c.driftSeconds;
        lc.maxLeaseSeconds = c.maxLeaseSeconds;
        lc.revoked = st.revokedKeys;
        return Licet.verifyLease(lease, sig, keys, lc);
    }

    private boolean offline(Map<String, Licet.TrustedKey> keys, State st, Outcome o) {
        String where = empty(c.offlineURL) ? Licet.offlineLocation(c.request.organizationUrl) : c.offlineURL;
        Response r;
        try {
            r = c.transport.send("GET", where, null, null, stepTimeout(), MAX_OFFLINE_BYTES);
        } catch (IOException e) {
            o.steps.add(step("offline", "unreachable", "cannot be reached: " + e.getMessage()));
            return false;
        }
        if (r.status == 404) {
            o.steps.add(step("offline", "no-offline", "no offline license at the backend"));
            return false;
        }
        if (r.status != 200) {
            o.steps.add(step("offline", "unreachable", "cannot be reached: " + r.status));
            return false;
        }
        Licet.OfflineCheck oc = new Licet.OfflineCheck(c.request.organizationId, c.request.organizationUrl, c.request.userId, c.clock.now());
        oc.driftSeconds = c.driftSeconds;
        oc.maxValiditySeconds = c.maxOfflineValiditySeconds;
        oc.revoked = st.revokedKeys;
        Licet.OfflineLicense l;
        try {
            l = Licet.verifyOffline(r.body, keys, oc);
        } catch (VerifyException e) {
            o.steps.add(step("offline", e.reason(), e.getMessage()));
            return false;
        }
        o.licensed = true;
        o.source = "offline";
        o.status = "Licensed";
        o.licenseType = l.licenseType;
        o.offline = l;
        o.expires = parseOrZero(l.validUntil);
        o.message = "licensed by offline license " + l.serial;
        st.saw(parseOrZero(l.issuedAt));
        return true;
    }

    private Outcome fromCache(Outcome o, State st, Map<String, Licet.TrustedKey> keys) {
        if (empty(st.lease)) {
            o.steps.add(step("cache", "no-cache", "no verified lease stored on this device"));
            return o;
        }
        if (keys == null) keys = anchors(st);
        try {
            Licet.Lease l = verify(st.lease, st.signature, keys, st);
            o.licensed = true;
            o.source = "cache";
            o.status = l.status;
            o.licenseType = l.licenseType;
            o.lease = l;
            o.expires = parseOrZero(l.expiresAt);
            o.message = "no licensing server can be reached; working on the stored lease until " + l.expiresAt;
        } catch (VerifyException e) {
            if (e.reason().equals("expired")) {
                o.steps.add(step("cache", "cache-expired", "the stored lease has expired"));
                o.source = "cache";
                o.status = "NotLicensed";
                o.message = "the stored lease has expired and no licensing server can be reached";
            } else {
                o.steps.add(step("cache", e.reason(), e.getMessage()));
            }
        }
        return o;
    }

    private static Map<String, Licet.TrustedKey> pinned(State st) {
        Map<String, Licet.TrustedKey> keys = new LinkedHashMap<>();
        for (Map.Entry<String, String> e : st.pinnedKeys.entrySet()) {
            try {
                byte[] raw = Licet.decodeBase64(e.getValue());
                if (raw.length == 32 && Licet.keyId(raw).equals(e.getKey())) keys.put(e.getKey(), Licet.TrustedKey.fromRaw(raw));
            } catch (VerifyException ignored) {
                // a damaged pin is no pin
            }
        }
        return keys;
    }

    // anchors are the keys the device trusts now: the configured ones, else
    // the pinned ones, never a revoked one.
    private Map<String, Licet.TrustedKey> anchors(State st) {
        Map<String, Licet.TrustedKey> keys = c.keys != null && !c.keys.isEmpty() ? new LinkedHashMap<>(c.keys) : pinned(st);
        for (String id : st.revokedKeys) keys.remove(id);
        return keys;
    }

    // trustedKeys returns the anchors, fetching the signed key set when
    // there are none, and again when the last one is older than
    // keyRefreshSeconds (a failed refresh does not stop the check).
    private Map<String, Licet.TrustedKey> trustedKeys(State st) throws StepFailure {
        Map<String, Licet.TrustedKey> keys = anchors(st);
        if (!keys.isEmpty()) {
            if (c.keyRefreshSeconds > 0 && c.clock.now() - st.keysFetched >= c.keyRefreshSeconds * 1000) {
                try {
                    return refreshKeys(st);
                } catch (StepFailure e) {
                    // tried again at the next check
                }
            }
            return keys;
        }
        return refreshKeys(st);
    }

    // refreshKeys fetches the signed key set from the primary, then the
    // backup, and applies the first it may: signed by a key the device
    // trusts, its revocations join the device's for ever and (when the app
    // configured no keys) its keys join the pins; otherwise, over https (the
    // trust of a first fetch), its revocations only, and when that leaves
    // the device no trusted key, its keys are pinned as on a first fetch.
    private Map<String, Licet.TrustedKey> refreshKeys(State st) throws StepFailure {
        StringBuilder errs = new StringBuilder();
        for (String base : new String[] {c.primary, c.backup}) {
            if (empty(base)) continue;
            boolean tls = base.startsWith("https://") || c.allowInsecureKeyFetch;
            Map<String, Licet.TrustedKey> trusted = anchors(st);
            if (trusted.isEmpty() && !tls) {
                errs.append("; ").append(base).append(" is not https");
                continue;
            }
            Licet.KeySet ks;
            try {
                // Parsed and checked on its own signatures; trust is decided here.
                ks = fetchKeySet(base, st);
            } catch (IOException | IllegalArgumentException | VerifyException e) {
                errs.append("; ").append(e.getMessage());
                continue;
            }
            boolean anchored = false;
            for (Licet.KeySetKey k : ks.keys) {
                Licet.TrustedKey t = trusted.get(k.id);
                if (t != null && Arrays.equals(t.raw, k.key.raw)) anchored = true;
            }
            if (!anchored && !tls) {
                errs.append("; the key set from ").append(base).append(" is not signed by a trusted key");
                continue;
            }
            for (String id : ks.revoked) {
                if (!st.revokedKeys.contains(id)) st.revokedKeys.add(id);
                st.pinnedKeys.remove(id);
            }
            if ((c.keys == null || c.keys.isEmpty()) && (anchored || anchors(st).isEmpty())) {
                for (Licet.KeySetKey k : ks.keys) st.pinnedKeys.put(k.id, Licet.encodeBase64(k.key.raw));
            }
            st.keysFetched = c.clock.now();
            Map<String, Licet.TrustedKey> keys = anchors(st);
            if (!keys.isEmpty()) return keys;
            errs.append("; every key the device trusted is revoked");
        }
        throw new StepFailure("no-trusted-keys", "no trusted public keys: configure them or allow fetching them over TLS" + errs);
    }

    private Licet.KeySet fetchKeySet(String base, State st) throws IOException, VerifyException {
        Response r = c.transport.send("GET", trimSlash(base) + "/v1/keys", null, null, stepTimeout(), 1 << 20);
        if (r.status != 200) throw new IOException("fetching keys: " + r.status);
        Object doc = Json.parse(Licet.utf8(r.body));
        Object env = doc instanceof Map ? ((Map<?, ?>) doc).get("keySet") : null;
        if (!(env instanceof Map)) throw new VerifyException("malformed", "fetching keys: no signed key set");
        List<String[]> sigs = new ArrayList<>();
        Object list = ((Map<?, ?>) env).get("signatures");
        if (list instanceof List) {
            for (Object x : (List<?>) list) {
                if (x instanceof Map) sigs.add(new String[] {s(((Map<?, ?>) x).get("kid")), s(((Map<?, ?>) x).get("sig"))});
            }
        }
        return Licet.verifyKeySet(s(((Map<?, ?>) env).get("payload")), sigs, new LinkedHashMap<String, Licet.TrustedKey>(), st.revokedKeys);
    }

    /** HTTP through java.net.HttpURLConnection (on every JDK and Android), redirects not followed. */
    public static final class UrlConnectionTransport implements Transport {
        @Override
        public Response send(String method, String url, String contentType, byte[] body, int timeoutMillis, int maxBytes) throws IOException {
            HttpURLConnection h = (HttpURLConnection) new URL(url).openConnection();
            h.setInstanceFollowRedirects(false);
            h.setConnectTimeout(Math.min(3000, timeoutMillis));
            h.setReadTimeout(timeoutMillis);
            h.setRequestMethod(method);
            if (body != null) {
                h.setDoOutput(true);
                h.setRequestProperty("Content-Type", contentType);
                try (OutputStream out = h.getOutputStream()) {
                    out.write(body);
                }
            }
            int status = h.getResponseCode();
            if (status >= 300 && status < 400) throw new IOException("redirected (" + status + "); redirects are not followed");
            InputStream in = status >= 400 ? h.getErrorStream() : h.getInputStream();
            ByteArrayOutputStream b = new ByteArrayOutputStream();
            if (in != null) {
                try (InputStream i = in) {
                    byte[] buf = new byte[8192];
                    for (int n; (n = i.read(buf)) > 0;) {
                        if (b.size() + n > maxBytes) throw new IOException("the answer is larger than " + maxBytes + " bytes");
                        b.write(buf, 0, n);
                    }
                }
            }
            return new Response(status, b.toByteArray());
        }
    }

    /** Keeps the state in memory only. */
    public static final class MemoryStore implements Store {
        private State st;

        @Override public synchronized State load() { return st; }

        @Override public synchronized void save(State s) { st = s; }
    }

    /**
     * Keeps the state in one file, AES-256-GCM under a 32-byte key from the
     * platform keystore, in the Go client's format ("licet-store-v1\n", a
     * 12-byte nonce, the sealed JSON with the magic as additional data).
     * Every save writes a temporary file, syncs it and renames it over the
     * old one.
     */
    public static final class EncryptedFileStore implements Store {
        private static final byte[] MAGIC = "licet-store-v1\n".getBytes(StandardCharsets.US_ASCII);
        private final File file;
        private final SecretKey key;

        /** A store under 32 raw key bytes. */
        public EncryptedFileStore(File file, byte[] key32) {
            this(file, aes(key32));
        }

        /**
         * A store under an AES-256 key that never leaves the platform's
         * keystore (an Android Keystore key made for AES/GCM/NoPadding: the
         * keystore picks each nonce).
         */
        public EncryptedFileStore(File file, SecretKey key) {
            this.file = file;
            this.key = key;
        }

        private static SecretKey aes(byte[] key32) {
            if (key32.length != 32) throw new IllegalArgumentException("the store key must be 32 bytes");
            return new SecretKeySpec(key32.clone(), "AES");
        }

        @Override
        public State load() throws IOException, StoreCorruptException {
            if (!file.exists()) return null;
            byte[] b = readAll(file);
            if (b.length < MAGIC.length + 12 + 16 || !Arrays.equals(Arrays.copyOf(b, MAGIC.length), MAGIC)) throw new StoreCorruptException();
            try {
                Cipher ci = Cipher.getInstance("AES/GCM/NoPadding");
                ci.init(Cipher.DECRYPT_MODE, key, new GCMParameterSpec(128, b, MAGIC.length, 12));
                ci.updateAAD(MAGIC);
                byte[] plain = ci.doFinal(b, MAGIC.length + 12, b.length - MAGIC.length - 12);
                Object v = Json.parse(new String(plain, StandardCharsets.UTF_8));
                if (!(v instanceof Map)) throw new StoreCorruptException();
                Map<?, ?> m = (Map<?, ?>) v;
                State st = new State();
                st.lease = m.get("lease") instanceof String ? (String) m.get("lease") : null;
                st.signature = m.get("signature") instanceof String ? (String) m.get("signature") : null;
                if (m.get("latestTrusted") instanceof String) {
                    String t = ((String) m.get("latestTrusted")).replaceFirst("\\.\\d+Z$", "Z");
                    st.latestTrusted = parseOrZero(t);
                }
                if (m.get("latestSeen") instanceof String) st.latestSeen = parseOrZero(((String) m.get("latestSeen")).replaceFirst("\\.\\d+Z$", "Z"));
                if (m.get("keysFetched") instanceof String) st.keysFetched = parseOrZero(((String) m.get("keysFetched")).replaceFirst("\\.\\d+Z$", "Z"));
                if (m.get("revokedKeys") instanceof List) {
                    for (Object id : (List<?>) m.get("revokedKeys")) if (id instanceof String) st.revokedKeys.add((String) id);
                }
                if (m.get("pinnedKeys") instanceof Map) {
                    for (Map.Entry<?, ?> e : ((Map<?, ?>) m.get("pinnedKeys")).entrySet()) st.pinnedKeys.put(String.valueOf(e.getKey()), s(e.getValue()));
                }
                return st;
            } catch (GeneralSecurityException | IllegalArgumentException e) {
                throw new StoreCorruptException();
            }
        }

        private static byte[] readAll(File f) throws IOException {
            try (InputStream in = new java.io.FileInputStream(f)) {
                ByteArrayOutputStream b = new ByteArrayOutputStream();
                byte[] buf = new byte[8192];
                for (int n; (n = in.read(buf)) > 0;) b.write(buf, 0, n);
                return b.toByteArray();
            }
        }

        @Override
        public void save(State st) throws IOException {
            Map<String, Object> m = new LinkedHashMap<>();
            if (st.lease != null) m.put("lease", st.lease);
            if (st.signature != null) m.put("signature", st.signature);
            if (st.latestTrusted > 0) m.put("latestTrusted", Main.formatTime(st.latestTrusted));
            if (st.latestSeen > 0) m.put("latestSeen", Main.formatTime(st.latestSeen));
            if (st.keysFetched > 0) m.put("keysFetched", Main.formatTime(st.keysFetched));
            if (!st.revokedKeys.isEmpty()) m.put("revokedKeys", new ArrayList<Object>(st.revokedKeys));
            if (!st.pinnedKeys.isEmpty()) m.put("pinnedKeys", new LinkedHashMap<String, Object>(st.pinnedKeys));
            byte[] nonce, sealed;
            try {
                // The provider picks a fresh random nonce (a keystore insists).
                Cipher ci = Cipher.getInstance("AES/GCM/NoPadding");
                ci.init(Cipher.ENCRYPT_MODE, key, new SecureRandom());
                nonce = ci.getIV();
                if (nonce == null || nonce.length != 12) throw new GeneralSecurityException("AES-GCM gave a nonce that is not 12 bytes");
                ci.updateAAD(MAGIC);
                sealed = ci.doFinal(Json.write(m).getBytes(StandardCharsets.UTF_8));
            } catch (GeneralSecurityException e) {
                throw new IOException(e);
            }
            File tmp = File.createTempFile("." + file.getName() + ".", ".tmp", file.getAbsoluteFile().getParentFile());
            try {
                tmp.setReadable(false, false);
                tmp.setReadable(true, true);
                tmp.setWritable(false, false);
                tmp.setWritable(true, true);
                try (FileOutputStream out = new FileOutputStream(tmp)) {
                    out.write(MAGIC);
                    out.write(nonce);
                    out.write(sealed);
                    out.getFD().sync();
                }
                if (!tmp.renameTo(file)) throw new IOException("cannot replace " + file);
            } finally {
                tmp.delete();
            }
        }
    }
}
