package io.github.licet;

import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Verifies licet leases and offline licenses (docs/PROTOCOL.md) over their
 * exact bytes. The conformance vectors in sdk/vectors hold it to the same
 * outcomes as the Go client and the JavaScript library. Java 8 language
 * level and no dependencies, so it runs on Android too.
 */
public final class Licet {
    private Licet() {}

    /** The first line of every offline license file starts with this. */
    public static final String OFFLINE_MAGIC = "licet-offline-v1";

    /** The longest lease a device believes unless configured (Go's protocol.DefaultLeaseLength). */
    public static final long DEFAULT_MAX_LEASE_SECONDS = 7L * 24 * 3600;
    /** The longest offline license validity a device believes (Go's protocol.MaxOfflineValidity). */
    public static final long MAX_OFFLINE_VALIDITY_SECONDS = 366L * 24 * 3600;

    private static volatile Ed25519Verifier ed25519 = Ed25519Verifier.PLATFORM;

    /** Uses another Ed25519 implementation (where the platform has none). */
    public static void useEd25519(Ed25519Verifier v) { ed25519 = v == null ? Ed25519Verifier.PLATFORM : v; }

    static final byte[] SPKI_PREFIX = {0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00};

    /** A trusted Ed25519 public key. */
    public static final class TrustedKey {
        public final String id;
        final byte[] raw;
        final byte[] spki;

        TrustedKey(byte[] raw) {
            this.raw = raw.clone();
            this.spki = Arrays.copyOf(SPKI_PREFIX, 44);
            System.arraycopy(raw, 0, spki, 12, 32);
            this.id = keyId(raw);
        }

        /** The raw 32-byte key. */
        public byte[] raw() { return raw.clone(); }

        /** A key from its raw 32 bytes. */
        public static TrustedKey fromRaw(byte[] raw) {
            if (raw.length != 32) throw new IllegalArgumentException("an Ed25519 key is 32 bytes");
            return new TrustedKey(raw);
        }
    }

    /** A key's ID as licet names it: hex of the first 8 bytes of the SHA-256 of the raw 32-byte key. */
    public static String keyId(byte[] raw) {
        try {
            byte[] h = MessageDigest.getInstance("SHA-256").digest(raw);
            StringBuilder b = new StringBuilder();
            for (int i = 0; i < 8; i++) b.append(String.format("%02x", h[i] & 0xff));
            return b.toString();
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private static final Pattern PEM = Pattern.compile("-----BEGIN ([A-Z ]+)-----([\\s\\S]*?)-----END \\1-----");

    /**
     * Reads every PEM "PUBLIC KEY" (Ed25519) in text into key ID → key. This
     * is how an app pins the vendor's key: ship the PEM of `licet keys public`.
     */
    public static Map<String, TrustedKey> parsePublicKeys(String pem) {
        Map<String, TrustedKey> keys = new LinkedHashMap<>();
        Matcher m = PEM.matcher(pem);
        while (m.find()) {
            if (!m.group(1).equals("PUBLIC KEY")) continue;
            byte[] der;
            try {
                der = decodeBase64(m.group(2).replaceAll("\\s+", ""));
            } catch (VerifyException e) {
                throw new IllegalArgumentException("a PEM block is not base64");
            }
            if (der.length != 44 || !Arrays.equals(Arrays.copyOf(der, 12), SPKI_PREFIX)) throw new IllegalArgumentException("not an Ed25519 public key");
            TrustedKey k = new TrustedKey(Arrays.copyOfRange(der, 12, 44));
            keys.put(k.id, k);
        }
        if (keys.isEmpty()) throw new IllegalArgumentException("no PEM PUBLIC KEY found");
        return keys;
    }

    // ---- bytes, times, names -------------------------------------------------

    private static final String B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    private static final Pattern B64_RE = Pattern.compile("(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?");

    /** Decodes standard, padded base64; anything else is malformed. */
    public static byte[] decodeBase64(String s) throws VerifyException {
        if (s == null || !B64_RE.matcher(s).matches()) throw new VerifyException("malformed", "not standard padded base64");
        int pad = s.endsWith("==") ? 2 : s.endsWith("=") ? 1 : 0;
        byte[] out = new byte[s.length() / 4 * 3 - pad];
        int o = 0;
        for (int i = 0; i < s.length(); i += 4) {
            int n = (B64.indexOf(s.charAt(i)) << 18) | (B64.indexOf(s.charAt(i + 1)) << 12)
                    | ((B64.indexOf(s.charAt(i + 2)) & 63) << 6) | (B64.indexOf(s.charAt(i + 3)) & 63);
            if (o < out.length) out[o++] = (byte) (n >>> 16);
            if (o < out.length) out[o++] = (byte) (n >>> 8);
            if (o < out.length) out[o++] = (byte) n;
        }
        return out;
    }

    public static String encodeBase64(byte[] b) {
        StringBuilder s = new StringBuilder();
        for (int i = 0; i < b.length; i += 3) {
            int n = ((b[i] & 0xff) << 16) | ((i + 1 < b.length ? b[i + 1] & 0xff : 0) << 8) | (i + 2 < b.length ? b[i + 2] & 0xff : 0);
            s.append(B64.charAt(n >>> 18)).append(B64.charAt((n >>> 12) & 63))
                    .append(i + 1 < b.length ? B64.charAt((n >>> 6) & 63) : '=').append(i + 2 < b.length ? B64.charAt(n & 63) : '=');
        }
        return s.toString();
    }

    private static final Pattern TIME = Pattern.compile("(\\d{4})-(\\d{2})-(\\d{2})T(\\d{2}):(\\d{2}):(\\d{2})Z");

    /** A signed document's time (UTC, YYYY-MM-DDTHH:MM:SSZ exactly) in milliseconds since 1970. */
    public static long parseTime(String s) throws VerifyException {
        Matcher m = s == null ? null : TIME.matcher(s);
        if (m == null || !m.matches()) throw new VerifyException("malformed", "time \"" + s + "\" is not YYYY-MM-DDTHH:MM:SSZ");
        int y = Integer.parseInt(m.group(1)), mo = Integer.parseInt(m.group(2)), d = Integer.parseInt(m.group(3));
        int h = Integer.parseInt(m.group(4)), mi = Integer.parseInt(m.group(5)), se = Integer.parseInt(m.group(6));
        boolean leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
        int[] days = {31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
        if (mo < 1 || mo > 12 || d < 1 || d > days[mo - 1] || h > 23 || mi > 59 || se > 59) throw new VerifyException("malformed", "time " + s + " does not exist");
        // Days from the civil date (Howard Hinnant's algorithm).
        int yy = mo <= 2 ? y - 1 : y;
        long era = Math.floorDiv(yy, 400);
        long yoe = yy - era * 400;
        long doy = (153L * (mo + (mo > 2 ? -3 : 9)) + 2) / 5 + d - 1;
        long doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        long epochDays = era * 146097 + doe - 719468;
        return ((epochDays * 24 + h) * 60 + mi) * 60_000L + se * 1000L;
    }

    static long parseTimeUnchecked(String s) {
        try {
            return parseTime(s);
        } catch (VerifyException e) {
            throw new IllegalArgumentException(e.getMessage());
        }
    }

    private static boolean empty(String s) { return s == null || s.isEmpty(); }

    private static String trimSpace(String s) {
        int a = 0, b = s.length();
        while (a < b && isSpace(s.charAt(a))) a++;
        while (b > a && isSpace(s.charAt(b - 1))) b--;
        return s.substring(a, b);
    }

    private static boolean isSpace(char c) {
        return c == ' ' || (c >= '\t' && c <= '\r') || c == '\u0085' || c == '\u00a0' || Character.isSpaceChar(c);
    }

    private static final Pattern GUID32 = Pattern.compile("[0-9A-Fa-f]{32}");
    private static final Pattern GUID36 = Pattern.compile("[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}");

    /**
     * A GUID's canonical form (docs/PROTOCOL.md, "Canonical forms"): any
     * case, with or without hyphens, optionally in braces, surrounding white
     * space ignored → upper case, hyphenated 8-4-4-4-12. null when not a GUID.
     */
    public static String canonicalGUID(String s) {
        String t = trimSpace(s == null ? "" : s);
        if (t.length() >= 2 && t.charAt(0) == '{' && t.charAt(t.length() - 1) == '}') t = t.substring(1, t.length() - 1);
        String hex;
        if (GUID32.matcher(t).matches()) hex = t;
        else if (GUID36.matcher(t).matches()) hex = t.replace("-", "");
        else return null;
        hex = hex.toUpperCase(Locale.ROOT);
        return hex.substring(0, 8) + "-" + hex.substring(8, 12) + "-" + hex.substring(12, 16) + "-" + hex.substring(16, 20) + "-" + hex.substring(20);
    }

    /** Whether two strings are the same GUID in canonical form (false when either is none). */
    public static boolean sameGUID(String a, String b) {
        String ca = canonicalGUID(a);
        return ca != null && ca.equals(canonicalGUID(b));
    }

    private static final Pattern URL_RE = Pattern.compile("(?is)^(https?)://([^/?#\\\\]*)([^?#\\\\]*)(?:[?#].*)?$");
    private static final Pattern HOST_PORT = Pattern.compile("^(\\[[^\\]]*\\]|[^:]*)(?::([0-9]*))?$");
    private static final Pattern LABEL = Pattern.compile("[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?");

    /**
     * An organization URL's canonical form (docs/PROTOCOL.md): http or https
     * only; scheme and host in lower case, an internationalized host in
     * punycode (java.net.IDN with the STD3 rules), no trailing dot, no default
     * port, no user information, query, fragment or trailing slash; the path
     * keeps its case and escaping. null when the string is not such a URL.
     */
    public static String canonicalURL(String s) {
        String t = trimSpace(s == null ? "" : s);
        Matcher m = URL_RE.matcher(t);
        if (!m.matches()) return null;
        for (int i = 0; i < t.length(); i++) if (t.charAt(i) < 0x20 || t.charAt(i) == 0x7f) return null;
        String scheme = m.group(1).toLowerCase(Locale.ROOT);
        String authority = m.group(2).replaceFirst("(?s)^.*@", "");
        Matcher hp = HOST_PORT.matcher(authority);
        if (!hp.matches() || hp.group(1).isEmpty()) return null;
        String host = hp.group(1), port = hp.group(2) == null ? "" : hp.group(2);
        if (host.startsWith("[")) {
            host = ipv6(host.substring(1, host.length() - 1));
            if (host == null) return null;
        } else {
            if (host.endsWith(".")) host = host.substring(0, host.length() - 1);
            if (host.isEmpty()) return null;
            host = idnHost(host);
            if (host == null) return null;
            if (host.length() > 253) return null;
            for (String label : host.split("\\.", -1)) if (!LABEL.matcher(label).matches()) return null;
        }
        if (!port.isEmpty()) {
            port = port.replaceFirst("^0+", "");
            if (port.isEmpty() || port.length() > 5 || Integer.parseInt(port) > 65535) return null;
        }
        if ((scheme.equals("https") && port.equals("443")) || (scheme.equals("http") && port.equals("80"))) port = "";
        String path = escapePath(m.group(3));
        if (path == null) return null;
        return scheme + "://" + host + (port.isEmpty() ? "" : ":" + port) + path.replaceFirst("/+$", "");
    }

    private static final Pattern BROKEN_ESCAPE = Pattern.compile("%(?![0-9A-Fa-f]{2})");
    private static final Pattern VALID_ENCODED = Pattern.compile("[A-Za-z0-9\\-._~$&+,/:;=@!'()*\\[\\]%]*");

    // escapePath writes a URL path as Go's URL.EscapedPath does: kept as it
    // is when it is a valid encoding, else decoded and escaped again
    // (everything but letters, digits and -._~$&+,/:;=@). null for a broken
    // % escape.
    private static String escapePath(String raw) {
        if (BROKEN_ESCAPE.matcher(raw).find()) return null;
        if (VALID_ENCODED.matcher(raw).matches()) return raw;
        java.io.ByteArrayOutputStream bytes = new java.io.ByteArrayOutputStream();
        for (int i = 0; i < raw.length(); i++) {
            char c = raw.charAt(i);
            if (c == '%') {
                bytes.write(Integer.parseInt(raw.substring(i + 1, i + 3), 16));
                i += 2;
            } else {
                int cp = raw.codePointAt(i);
                if (Character.charCount(cp) == 2) i++;
                byte[] b = new String(Character.toChars(cp)).getBytes(StandardCharsets.UTF_8);
                bytes.write(b, 0, b.length);
            }
        }
        StringBuilder out = new StringBuilder();
        for (byte x : bytes.toByteArray()) {
            int b = x & 0xff;
            if (b < 128 && (Character.isLetterOrDigit(b) || "-._~$&+,/:;=@".indexOf(b) >= 0)) out.append((char) b);
            else out.append('%').append(String.format("%02X", b));
        }
        return out.toString();
    }

    // idnHost maps a host name to ASCII as IDNA 2008's lookup does, through
    // java.net.IDN (IDNA 2003, STD3 rules). The two differ on the deviation
    // characters (ß, final sigma, the joiners), which IDNA 2003 maps away and
    // IDNA 2008 keeps: a label holding one is lower-cased, put in NFC and
    // encoded with Punycode here.
    private static String idnHost(String host) {
        StringBuilder out = new StringBuilder();
        for (String label : host.split("\\.", -1)) {
            if (out.length() > 0) out.append('.');
            try {
                if (label.matches(".*[\\u00df\\u03c2\\u200c\\u200d].*")) {
                    String l = java.text.Normalizer.normalize(label.toLowerCase(Locale.ROOT), java.text.Normalizer.Form.NFC);
                    java.net.IDN.toASCII(l.replaceAll("[\\u00df\\u03c2\\u200c\\u200d]", "a"), java.net.IDN.USE_STD3_ASCII_RULES); // the rest must be valid
                    out.append("xn--").append(punycode(l));
                } else {
                    out.append(java.net.IDN.toASCII(label, java.net.IDN.USE_STD3_ASCII_RULES).toLowerCase(Locale.ROOT));
                }
            } catch (IllegalArgumentException e) {
                return null;
            }
        }
        return out.toString();
    }

    // punycode encodes one label (RFC 3492).
    private static String punycode(String input) {
        int[] cps = input.codePoints().toArray();
        StringBuilder out = new StringBuilder();
        for (int c : cps) if (c < 0x80) out.append((char) c);
        int b = out.length(), h = b;
        if (b > 0) out.append('-');
        int n = 128, delta = 0, bias = 72;
        while (h < cps.length) {
            int m = Integer.MAX_VALUE;
            for (int c : cps) if (c >= n && c < m) m = c;
            delta += (m - n) * (h + 1);
            n = m;
            for (int c : cps) {
                if (c < n) delta++;
                if (c == n) {
                    int q = delta;
                    for (int k = 36;; k += 36) {
                        int t = k <= bias ? 1 : k >= bias + 26 ? 26 : k - bias;
                        if (q < t) break;
                        out.append(digit(t + (q - t) % (36 - t)));
                        q = (q - t) / (36 - t);
                    }
                    out.append(digit(q));
                    bias = adapt(delta, h + 1, h == b);
                    delta = 0;
                    h++;
                }
            }
            delta++;
            n++;
        }
        return out.toString();
    }

    private static char digit(int d) { return (char) (d < 26 ? 'a' + d : '0' + d - 26); }

    private static int adapt(int delta, int points, boolean first) {
        delta = first ? delta / 700 : delta / 2;
        delta += delta / points;
        int k = 0;
        while (delta > 455) {
            delta /= 35;
            k += 36;
        }
        return k + 36 * delta / (delta + 38);
    }

    // ipv6 writes an IPv6 literal as Go does (RFC 5952: lower case, the
    // longest run of zero groups as ::), in brackets; null when it is none.
    private static String ipv6(String lit) {
        if (!lit.matches("[0-9A-Fa-f:.]+") || !lit.contains(":")) return null;
        byte[] b;
        try {
            b = java.net.InetAddress.getByName(lit).getAddress();
        } catch (java.io.IOException e) {
            return null;
        }
        if (b.length == 4) return "[::ffff:" + (b[0] & 0xff) + "." + (b[1] & 0xff) + "." + (b[2] & 0xff) + "." + (b[3] & 0xff) + "]"; // IPv4-mapped, as Go writes it
        if (b.length != 16) return null;
        int[] g = new int[8];
        for (int i = 0; i < 8; i++) g[i] = ((b[2 * i] & 0xff) << 8) | (b[2 * i + 1] & 0xff);
        int best = -1, bestLen = 1;
        for (int i = 0; i < 8;) {
            int j = i;
            while (j < 8 && g[j] == 0) j++;
            if (j - i > bestLen) {
                best = i;
                bestLen = j - i;
            }
            i = j == i ? i + 1 : j;
        }
        StringBuilder out = new StringBuilder("[");
        for (int i = 0; i < 8; i++) {
            if (i == best) {
                out.append("::");
                i += bestLen - 1;
                continue;
            }
            if (out.length() > 1 && out.charAt(out.length() - 1) != ':') out.append(':');
            out.append(Integer.toHexString(g[i]));
        }
        return out.append(']').toString();
    }

    /** Whether two strings are the same URL in canonical form (false when either is none). */
    public static boolean sameURL(String a, String b) {
        String ca = canonicalURL(a);
        return ca != null && ca.equals(canonicalURL(b));
    }

    /** An organization URL made comparable: its canonical form, or for a string that is no http(s) URL the string trimmed and lower-cased. */
    public static String normalizeURL(String s) {
        String c = canonicalURL(s);
        return c != null ? c : trimSpace(s == null ? "" : s).toLowerCase(Locale.ROOT).replaceFirst("/+$", "");
    }

    /** Where an app looks for its organization's offline license unless told otherwise. */
    public static String offlineLocation(String orgURL) { return normalizeURL(orgURL) + "/licet-offline.lic"; }

    private static boolean verifySignature(TrustedKey k, byte[] msg, byte[] sig) throws VerifyException {
        try {
            return ed25519.verify(k.raw, k.spki, msg, sig);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("this platform cannot verify Ed25519 (" + e + "): plug in another with Licet.useEd25519", e);
        }
    }

    private static Map<String, Object> signedObject(byte[] payload) throws VerifyException {
        Object v;
        try {
            v = Json.parse(strictUTF8(payload));
        } catch (IllegalArgumentException | java.nio.charset.CharacterCodingException e) {
            throw new VerifyException("malformed", "the payload is not strict JSON: " + e.getMessage());
        }
        if (!(v instanceof Map)) throw new VerifyException("malformed", "the payload is not a JSON object");
        @SuppressWarnings("unchecked") Map<String, Object> m = (Map<String, Object>) v;
        return m;
    }

    static String utf8(byte[] b) { return new String(b, StandardCharsets.UTF_8); }

    static String strictUTF8(byte[] b) throws java.nio.charset.CharacterCodingException {
        return StandardCharsets.UTF_8.newDecoder().decode(java.nio.ByteBuffer.wrap(b)).toString();
    }

    private static String str(Map<String, Object> m, String k) throws VerifyException {
        Object v = m.get(k);
        if (v == null && !m.containsKey(k)) return "";
        if (!(v instanceof String)) throw new VerifyException("malformed", k + " is not a string");
        return (String) v;
    }

    private static long integer(Map<String, Object> m, String k) throws VerifyException {
        if (!m.containsKey(k)) return 0;
        Object v = m.get(k);
        if (!(v instanceof Json.Number) || !((Json.Number) v).raw.matches("-?[0-9]+")) throw new VerifyException("malformed", k + " is not an integer");
        try {
            return Long.parseLong(((Json.Number) v).raw);
        } catch (NumberFormatException e) {
            throw new VerifyException("malformed", k + " is out of range");
        }
    }

    // ---- leases ----------------------------------------------------------------

    /** What a lease is checked against. A null or empty org, user or device is not compared (inspection); a device passes all three. */
    public static final class LeaseCheck {
        public String org, user, device;
        /** The device clock in milliseconds since 1970. */
        public long now = System.currentTimeMillis();
        public long driftSeconds = 300;
        /** The longest lease (exp − iat) believed (Go's protocol.DefaultLeaseLength). */
        public long maxLeaseSeconds = DEFAULT_MAX_LEASE_SECONDS;
        /** Key IDs the device knows to be revoked (from a signed key set). */
        public List<String> revoked = new ArrayList<>();

        public LeaseCheck() {}

        public LeaseCheck(String org, String user, String device, long now) {
            this.org = org;
            this.user = user;
            this.device = device;
            this.now = now;
        }
    }

    /** A verified lease. */
    public static final class Lease {
        public int version;
        public String org, user, device, licenseType, status, issuedAt, expiresAt, keyId, role, server;
        /** The exact bytes that were verified. */
        public byte[] payload, signature;
    }

    private static final List<String> LEASE_STRINGS = Collections.unmodifiableList(Arrays.asList("org", "user", "device", "type", "status", "iat", "exp", "kid", "role", "server"));
    private static final List<String> LEASE_MEMBERS = Collections.unmodifiableList(Arrays.asList("v", "org", "user", "device", "type", "status", "iat", "exp", "kid", "role", "server"));

    // exactMembers refuses a member named as a known one but for case: Go's
    // decoder would read it as that one; no verifier may.
    private static void exactMembers(Map<String, Object> m, List<String> known) throws VerifyException {
        for (String k : m.keySet()) {
            if (known.contains(k)) continue;
            for (String n : known) if (Json.foldKey(n).equals(Json.foldKey(k))) throw new VerifyException("malformed", "unknown member \"" + k + "\"");
        }
    }

    /** Verifies a lease as the check answered it (base64 payload and signature). */
    public static Lease verifyLease(String leaseB64, String signatureB64, Map<String, TrustedKey> keys, LeaseCheck c) throws VerifyException {
        return verifyLease(decodeBase64(leaseB64), decodeBase64(signatureB64), keys, c);
    }

    /**
     * Verifies a lease's exact payload bytes with a trusted key, then that it
     * is for this organization, user and device, issued no later than
     * now + drift and not expired.
     */
    public static Lease verifyLease(byte[] payload, byte[] sig, Map<String, TrustedKey> keys, LeaseCheck c) throws VerifyException {
        Map<String, Object> m = signedObject(payload);
        Lease l = new Lease();
        for (String k : LEASE_STRINGS) str(m, k); // types first, as Go decodes
        exactMembers(m, LEASE_MEMBERS);
        long v = integer(m, "v");
        l.org = str(m, "org");
        l.user = str(m, "user");
        l.device = str(m, "device");
        l.licenseType = str(m, "type");
        l.status = str(m, "status");
        l.issuedAt = str(m, "iat");
        l.expiresAt = str(m, "exp");
        l.keyId = str(m, "kid");
        l.role = str(m, "role");
        l.server = str(m, "server");
        l.payload = payload.clone();
        l.signature = sig.clone();
        if (c.revoked.contains(l.keyId)) throw new VerifyException("revoked-key", "signed by a revoked key: not trusted");
        TrustedKey k = keys.get(l.keyId);
        if (k == null) throw new VerifyException("unknown-key", "signed by a key this app does not trust");
        if (!verifySignature(k, payload, sig)) throw new VerifyException("bad-signature", "the signature does not match the content");
        if (v != 1) throw new VerifyException("malformed", "lease version " + v);
        l.version = 1;
        long iat = parseTime(l.issuedAt), exp = parseTime(l.expiresAt);
        if (!l.status.equals("Licensed") && !l.status.equals("Temporary")) throw new VerifyException("malformed", "lease status " + l.status);
        if (!empty(c.org) && !sameGUID(l.org, c.org)) throw new VerifyException("wrong-organization", "issued for another organization");
        if (!empty(c.user) && !sameGUID(l.user, c.user)) throw new VerifyException("wrong-user", "issued for another user");
        if (!empty(c.device) && !l.device.equals(trimSpace(c.device))) throw new VerifyException("wrong-device", "issued for another device");
        if (iat > c.now + c.driftSeconds * 1000) throw new VerifyException("issued-in-future", "issued " + l.issuedAt + ", later than the device clock allows: not believed");
        if (exp - iat > c.maxLeaseSeconds * 1000) throw new VerifyException("too-long", "a lease from " + l.issuedAt + " to " + l.expiresAt + ": longer than this app allows");
        if (c.now >= exp) throw new VerifyException("expired", "expired on " + l.expiresAt);
        return l;
    }

    // ---- offline licenses --------------------------------------------------------

    /** What an offline license is checked against. */
    public static final class OfflineCheck {
        public String org, url, user;
        public long now = System.currentTimeMillis();
        public long driftSeconds = 300;
        /** The longest validity (exp − iat) believed (Go's protocol.MaxOfflineValidity). */
        public long maxValiditySeconds = MAX_OFFLINE_VALIDITY_SECONDS;
        /** Key IDs the device knows to be revoked. */
        public List<String> revoked = new ArrayList<>();

        public OfflineCheck() {}

        public OfflineCheck(String org, String url, String user, long now) {
            this.org = org;
            this.url = url;
            this.user = user;
            this.now = now;
        }
    }

    /** A verified offline license. */
    public static final class OfflineLicense {
        public long version, serial;
        public String kind, org, url, issuedAt, validFrom, validUntil, keyId;
        /** License type → user IDs. */
        public Map<String, List<String>> users = new LinkedHashMap<>();
        /** The type the checked user holds. */
        public String licenseType;
    }

    private static final List<String> OFFLINE_MEMBERS = Arrays.asList("v", "kind", "serial", "org", "url", "iat", "nbf", "exp", "kid", "users");

    /**
     * Verifies an offline license file's exact bytes for one user: the
     * header, a trusted key, the signature over every byte after the first
     * line feed, then organization, URL, validity (with the drift) and the
     * user, in that order.
     */
    public static OfflineLicense verifyOffline(byte[] doc, Map<String, TrustedKey> keys, OfflineCheck c) throws VerifyException {
        int nl = -1;
        for (int i = 0; i < doc.length; i++) if (doc[i] == '\n') { nl = i; break; }
        if (nl < 0) throw new VerifyException("malformed", "no line feed after the header");
        String[] f = utf8(Arrays.copyOf(doc, nl)).split(" ", -1);
        if (f.length != 3 || !f[0].equals(OFFLINE_MAGIC) || f[1].isEmpty() || f[1].getBytes(StandardCharsets.UTF_8).length > 64)
            throw new VerifyException("malformed", "the first line is not \"licet-offline-v1 KID SIGNATURE\"");
        byte[] sig = decodeBase64(f[2]);
        if (sig.length != 64) throw new VerifyException("malformed", "the signature is not 64 bytes");
        byte[] payload = Arrays.copyOfRange(doc, nl + 1, doc.length);
        if (c.revoked.contains(f[1])) throw new VerifyException("revoked-key", "signed by a revoked key: not trusted");
        TrustedKey k = keys.get(f[1]);
        if (k == null) throw new VerifyException("unknown-key", "signed by a key this app does not trust");
        if (!verifySignature(k, payload, sig)) throw new VerifyException("bad-signature", "the signature does not match the content");
        Map<String, Object> m = signedObject(payload);
        for (String key : m.keySet()) if (!OFFLINE_MEMBERS.contains(key)) throw new VerifyException("malformed", "unknown member \"" + key + "\"");
        OfflineLicense l = new OfflineLicense();
        l.version = integer(m, "v");
        l.kind = str(m, "kind");
        l.serial = integer(m, "serial");
        l.org = str(m, "org");
        l.url = str(m, "url");
        l.issuedAt = str(m, "iat");
        l.validFrom = str(m, "nbf");
        l.validUntil = str(m, "exp");
        l.keyId = str(m, "kid");
        if (m.containsKey("users")) {
            if (!(m.get("users") instanceof Map)) throw new VerifyException("malformed", "users is not an object");
            for (Map.Entry<?, ?> e : ((Map<?, ?>) m.get("users")).entrySet()) {
                if (!(e.getValue() instanceof List)) throw new VerifyException("malformed", "users." + e.getKey() + " is not a list of IDs");
                List<String> ids = new ArrayList<>();
                for (Object id : (List<?>) e.getValue()) {
                    if (!(id instanceof String)) throw new VerifyException("malformed", "users." + e.getKey() + " is not a list of IDs");
                    ids.add((String) id);
                }
                l.users.put((String) e.getKey(), ids);
            }
        }
        if (l.version != 1 || !l.kind.equals("offline") || !l.keyId.equals(f[1])) throw new VerifyException("malformed", "not a version 1 offline license of this key");
        if (!sameGUID(l.org, c.org)) throw new VerifyException("wrong-organization", "issued for another organization");
        if (!sameURL(l.url, c.url)) throw new VerifyException("wrong-url", "issued for another organization URL");
        long nbf = parseTime(l.validFrom), exp = parseTime(l.validUntil), iat = parseTime(l.issuedAt);
        long drift = c.driftSeconds * 1000;
        if (exp - iat > c.maxValiditySeconds * 1000) throw new VerifyException("too-long", "issued " + l.issuedAt + ", valid until " + l.validUntil + ": longer than this app allows");
        if (c.now < nbf - drift) throw new VerifyException("not-yet-valid", "not valid yet");
        if (c.now >= exp + drift) throw new VerifyException("expired", "expired on " + l.validUntil);
        if (iat > c.now + drift) throw new VerifyException("issued-in-future", "issued " + l.issuedAt + ", later than the device clock allows: not believed");
        String user = canonicalGUID(c.user);
        for (Map.Entry<String, List<String>> e : l.users.entrySet()) {
            for (String id : e.getValue()) {
                if (user != null && user.equals(canonicalGUID(id))) {
                    l.licenseType = e.getKey();
                    return l;
                }
            }
        }
        throw new VerifyException("user-not-licensed", "this user is not in it");
    }

    // ---- signed key sets -----------------------------------------------------------

    /** One key of a verified key set. */
    public static final class KeySetKey {
        public final String id, state;
        public final TrustedKey key;

        KeySetKey(String id, String state, TrustedKey key) {
            this.id = id;
            this.state = state;
            this.key = key;
        }
    }

    /** A verified key set. */
    public static final class KeySet {
        public final List<KeySetKey> keys = new ArrayList<>();
        public final List<String> revoked = new ArrayList<>();
        /** Whether one of its keys is one the device trusted. */
        public boolean anchored;
    }

    private static final Pattern RFC3339 = Pattern.compile("(\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2})(\\.\\d+)?(Z|[+-]\\d{2}:\\d{2})");

    private static Map<String, Object> strictObject(Object o, List<String> members, String what) throws VerifyException {
        if (!(o instanceof Map)) throw new VerifyException("malformed", what + " is not an object");
        @SuppressWarnings("unchecked") Map<String, Object> m = (Map<String, Object>) o;
        for (String k : m.keySet()) if (!members.contains(k)) throw new VerifyException("malformed", what + ": unknown member \"" + k + "\"");
        for (String k : members) if (m.containsKey(k) && !k.equals("v") && !k.equals("keys") && !k.equals("revoked")) str(m, k);
        return m;
    }

    /**
     * Verifies the signed key set of GET /v1/keys (docs/PROTOCOL.md, "The
     * signed key set"): payload is its base64, signatures key ID → base64
     * signature. Its shape, every listed key's signature of the exact
     * payload bytes, no listed key the device knows to be revoked, and one
     * listed key the device trusts (trusted minus revoked) with the same
     * bytes; with no usable trusted key (a first fetch, which the caller
     * allows over https only) it stands on its own signatures. Throws
     * VerifyException "malformed" or "untrusted".
     */
    public static KeySet verifyKeySet(String payloadB64, List<String[]> signatures, Map<String, TrustedKey> trusted, List<String> revoked) throws VerifyException {
        byte[] payload = decodeBase64(payloadB64);
        if (payload.length == 0 || payload.length > 1 << 20) throw new VerifyException("malformed", "key set: empty or over 1 MiB");
        Map<String, Object> m = strictObject(signedObject(payload), Arrays.asList("v", "kind", "iat", "keys", "revoked"), "key set");
        long v = integer(m, "v");
        Matcher t = RFC3339.matcher(str(m, "iat"));
        if (v != 1 || !str(m, "kind").equals("keyset") || !(m.get("keys") instanceof List) || ((List<?>) m.get("keys")).isEmpty() || !t.matches())
            throw new VerifyException("malformed", "not a version 1 key set");
        parseTime(t.group(1) + "Z");
        if (m.containsKey("revoked") && !(m.get("revoked") instanceof List)) throw new VerifyException("malformed", "key set: revoked is not a list");
        KeySet ks = new KeySet();
        if (m.get("revoked") != null) {
            for (Object r : (List<?>) m.get("revoked")) ks.revoked.add(str(strictObject(r, Arrays.asList("kid", "revokedAt"), "a revocation"), "kid"));
        }
        Map<String, byte[]> sigs = new LinkedHashMap<>();
        for (String[] s : signatures) {
            byte[] b = decodeBase64(s[1]);
            if (b.length != 64) throw new VerifyException("malformed", "key set: a signature is not 64 bytes");
            sigs.put(s[0], b);
        }
        for (Object o : (List<?>) m.get("keys")) {
            Map<String, Object> k = strictObject(o, Arrays.asList("kid", "alg", "pub", "state", "created"), "a key");
            String kid = str(k, "kid"), state = str(k, "state");
            byte[] raw = decodeBase64(str(k, "pub"));
            if (raw.length != 32 || !keyId(raw).equals(kid) || !str(k, "alg").equals("Ed25519") || !(state.equals("active") || state.equals("retired")) || ks.revoked.contains(kid))
                throw new VerifyException("malformed", "key set: key " + kid + " is not a valid entry");
            TrustedKey tk = TrustedKey.fromRaw(raw);
            byte[] sig = sigs.get(kid);
            if (sig == null || !verifySignature(tk, payload, sig)) throw new VerifyException("malformed", "key set: key " + kid + " did not sign it");
            ks.keys.add(new KeySetKey(kid, state, tk));
        }
        for (KeySetKey k : ks.keys) if (revoked.contains(k.id)) throw new VerifyException("untrusted", "key set: it lists key " + k.id + ", which was revoked");
        int usable = 0;
        for (String id : trusted.keySet()) if (!revoked.contains(id)) usable++;
        for (KeySetKey k : ks.keys) {
            TrustedKey tk = trusted.get(k.id);
            if (tk != null && !revoked.contains(k.id) && Arrays.equals(tk.raw, k.key.raw)) ks.anchored = true;
        }
        if (usable > 0 && !ks.anchored) throw new VerifyException("untrusted", "key set: not signed by any key this device trusts");
        return ks;
    }
}
