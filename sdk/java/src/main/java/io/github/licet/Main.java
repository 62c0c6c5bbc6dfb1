package io.github.licet;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * java -jar licet.jar lease --key PUB.pem --lease B64 --signature B64 [--org G --user G --device D]
 * java -jar licet.jar offline FILE --key PUB.pem --org G --url URL --user G
 * Both take [--at TIME] (RFC 3339; default now), [--drift 5m] and
 * [--revoked KID,KID] (key IDs known to be revoked); lease also
 * [--max-lease 168h] (the longest lease believed). Exit 0:
 * valid and matching; 1: refused (the reason on stderr); 2: a mistake on
 * the command line.
 */
public final class Main {
    private Main() {}

    private static final class Usage extends Exception {
        private static final long serialVersionUID = 1L;

        Usage(String m) { super(m); }
    }

    private static final Map<String, List<String>> FLAGS = new HashMap<>();
    private static final Map<String, List<String>> REQUIRED = new HashMap<>();

    static {
        FLAGS.put("lease", Arrays.asList("key", "lease", "signature", "org", "user", "device", "at", "drift", "revoked", "max-lease"));
        FLAGS.put("offline", Arrays.asList("key", "org", "url", "user", "at", "drift", "revoked"));
        REQUIRED.put("lease", Arrays.asList("key", "lease", "signature"));
        REQUIRED.put("offline", Arrays.asList("key", "org", "url", "user"));
    }

    public static void main(String[] args) {
        System.exit(run(args));
    }

    /** Runs one command and returns the exit code. */
    public static int run(String[] args) {
        try {
            System.out.println(command(args));
            return 0;
        } catch (Usage e) {
            System.err.println("licet-verify: " + e.getMessage());
            return 2;
        } catch (VerifyException e) {
            System.err.println("licet-verify: " + e.reason() + ": " + e.getMessage());
            return 1;
        } catch (RuntimeException e) {
            System.err.println("licet-verify: error: " + e.getMessage());
            return 1;
        }
    }

    private static String command(String[] argv) throws Usage, VerifyException {
        if (argv.length == 0 || !FLAGS.containsKey(argv[0])) throw new Usage("usage: licet.jar lease|offline … (see the README)");
        String cmd = argv[0];
        Map<String, String> opts = new HashMap<>();
        List<String> rest = new ArrayList<>();
        for (int i = 1; i < argv.length; i++) {
            String a = argv[i];
            if (!a.startsWith("-")) {
                rest.add(a);
                continue;
            }
            String name = a.replaceFirst("^--?", ""), value = null;
            int eq = name.indexOf('=');
            if (eq >= 0) {
                value = name.substring(eq + 1);
                name = name.substring(0, eq);
            }
            if (!FLAGS.get(cmd).contains(name)) throw new Usage("unknown flag " + a);
            if (value == null) {
                if (i + 1 >= argv.length) throw new Usage(a + " needs a value");
                value = argv[++i];
            }
            opts.put(name, value);
        }
        for (String r : REQUIRED.get(cmd)) if (opts.get(r) == null || opts.get(r).isEmpty()) throw new Usage("--" + r + " is required");
        long now = at(opts.get("at"));
        long drift = duration(opts.get("drift"), "drift", 300);
        List<String> revoked = new ArrayList<>();
        for (String id : (opts.get("revoked") == null ? "" : opts.get("revoked")).split(",")) if (!id.isEmpty()) revoked.add(id);
        Map<String, Licet.TrustedKey> keys;
        try {
            keys = Licet.parsePublicKeys(new String(Files.readAllBytes(Paths.get(opts.get("key"))), StandardCharsets.UTF_8));
        } catch (IOException | IllegalArgumentException e) {
            throw new Usage("--key " + opts.get("key") + ": " + e.getMessage());
        }
        if (cmd.equals("lease")) {
            if (!rest.isEmpty()) throw new Usage("unexpected argument " + rest.get(0));
            Licet.LeaseCheck c = new Licet.LeaseCheck(opts.get("org"), opts.get("user"), opts.get("device"), now);
            c.driftSeconds = drift;
            c.revoked = revoked;
            c.maxLeaseSeconds = duration(opts.get("max-lease"), "max-lease", Licet.DEFAULT_MAX_LEASE_SECONDS);
            Licet.Lease l = Licet.verifyLease(opts.get("lease"), opts.get("signature"), keys, c);
            return "valid: " + l.status + " " + l.licenseType + " for user " + l.user + " of " + l.org + " on device " + l.device + ", until " + l.expiresAt + " (key " + l.keyId + ")";
        }
        if (rest.size() != 1) throw new Usage("give one offline license FILE");
        byte[] doc;
        try {
            doc = Files.readAllBytes(Paths.get(rest.get(0)));
        } catch (IOException e) {
            throw new Usage(rest.get(0) + ": " + e.getMessage());
        }
        Licet.OfflineCheck c = new Licet.OfflineCheck(opts.get("org"), opts.get("url"), opts.get("user"), now);
        c.driftSeconds = drift;
        c.revoked = revoked;
        Licet.OfflineLicense l = Licet.verifyOffline(doc, keys, c);
        return "valid: offline license " + l.serial + " gives " + opts.get("user") + " a " + l.licenseType + " license until " + l.validUntil;
    }

    private static final Pattern DURATION = Pattern.compile("(\\d+(?:\\.\\d+)?)(h|ms|m|s)");

    private static long duration(String s, String flag, long def) throws Usage {
        if (s == null) return def;
        if (!s.matches("((\\d+(\\.\\d+)?)(h|ms|m|s))+")) throw new Usage("--" + flag + " \"" + s + "\" is not a duration like 5m or 30s");
        double seconds = 0;
        Matcher m = DURATION.matcher(s);
        while (m.find()) {
            double n = Double.parseDouble(m.group(1));
            switch (m.group(2)) {
                case "h": seconds += n * 3600; break;
                case "m": seconds += n * 60; break;
                case "s": seconds += n; break;
                default: seconds += n / 1000;
            }
        }
        return (long) seconds;
    }

    private static final Pattern RFC3339 = Pattern.compile("(\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2})(?:\\.\\d+)?(Z|([+-])(\\d{2}):(\\d{2}))");

    private static long at(String s) throws Usage {
        if (s == null) return System.currentTimeMillis();
        Matcher m = RFC3339.matcher(s);
        try {
            if (!m.matches()) throw new VerifyException("malformed", "");
            long t = Licet.parseTime(m.group(1) + "Z");
            if (m.group(3) != null) {
                long off = (Long.parseLong(m.group(4)) * 60 + Long.parseLong(m.group(5))) * 60_000;
                t += m.group(3).equals("+") ? -off : off;
            }
            return t;
        } catch (VerifyException e) {
            throw new Usage("--at \"" + s + "\" is not an RFC 3339 time");
        }
    }

    /** Milliseconds since 1970 as YYYY-MM-DDTHH:MM:SSZ. */
    static String formatTime(long ms) {
        java.text.SimpleDateFormat f = new java.text.SimpleDateFormat("yyyy-MM-dd'T'HH:mm:ss'Z'", java.util.Locale.ROOT);
        f.setTimeZone(java.util.TimeZone.getTimeZone("UTC"));
        return f.format(new java.util.Date(ms));
    }
}
