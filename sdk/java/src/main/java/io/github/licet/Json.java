package io.github.licet;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * A strict JSON reader for signed documents, and a small writer. The reader
 * refuses duplicate keys and keys differing only in case (Go matches keys
 * case-insensitively, JavaScript takes the last duplicate: a signed
 * document must mean one thing to every verifier), keeps numbers as their
 * literal text, and refuses anything after the value but whitespace.
 */
public final class Json {
    private Json() {}

    /** A number as written. */
    public static final class Number {
        public final String raw;
        Number(String raw) { this.raw = raw; }
        @Override public String toString() { return raw; }
    }

    /** How deep objects and arrays may nest (Go's protocol.MaxDepth). */
    public static final int MAX_DEPTH = 32;

    /**
     * Folds a key for comparison ignoring case, one representative per
     * Unicode case-folding orbit as Go's unicode.SimpleFold: "K", "k" and
     * KELVIN SIGN fold to "k"; a character whose other case is longer
     * (ß → SS) folds to itself.
     */
    public static String foldKey(String k) {
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < k.length();) {
            int c = k.codePointAt(i);
            i += Character.charCount(c);
            String s = new String(Character.toChars(c));
            String u = s.toUpperCase(Locale.ROOT);
            String base = u.codePointCount(0, u.length()) == 1 ? u : s;
            String l = base.toLowerCase(Locale.ROOT);
            b.append(l.codePointCount(0, l.length()) == 1 ? l : base);
        }
        return b.toString();
    }

    /** Parses text: objects become Map (insertion order), arrays List, strings String, numbers Json.Number, true/false Boolean, null null. */
    public static Object parse(String text) {
        Parser p = new Parser(text);
        Object v = p.value(0);
        p.ws();
        if (p.i != text.length()) throw p.fail("data after the value");
        return v;
    }

    private static final class Parser {
        final String s;
        int i;
        Parser(String s) { this.s = s; }

        IllegalArgumentException fail(String what) { return new IllegalArgumentException("JSON: " + what + " at " + i); }

        void ws() {
            while (i < s.length()) {
                char c = s.charAt(i);
                if (c != ' ' && c != '\t' && c != '\n' && c != '\r') return;
                i++;
            }
        }

        Object value(int depth) {
            ws();
            if (i >= s.length()) throw fail("unexpected end");
            char c = s.charAt(i);
            if ((c == '{' || c == '[') && depth >= MAX_DEPTH) throw fail("nested deeper than " + MAX_DEPTH);
            if (c == '{') return object(depth);
            if (c == '[') return array(depth);
            if (c == '"') return string();
            if (c == '-' || (c >= '0' && c <= '9')) return number();
            if (s.startsWith("true", i)) { i += 4; return Boolean.TRUE; }
            if (s.startsWith("false", i)) { i += 5; return Boolean.FALSE; }
            if (s.startsWith("null", i)) { i += 4; return null; }
            throw fail("unexpected character");
        }

        Map<String, Object> object(int depth) {
            i++;
            Map<String, Object> out = new LinkedHashMap<>();
            Set<String> folded = new HashSet<>();
            ws();
            if (i < s.length() && s.charAt(i) == '}') { i++; return out; }
            for (;;) {
                ws();
                if (i >= s.length() || s.charAt(i) != '"') throw fail("expected a key");
                String k = string();
                if (!folded.add(foldKey(k))) throw fail("duplicate key \"" + k + "\" (keys may not repeat, nor differ only in case)");
                ws();
                if (i >= s.length() || s.charAt(i) != ':') throw fail("expected :");
                i++;
                out.put(k, value(depth + 1));
                ws();
                if (i < s.length() && s.charAt(i) == ',') { i++; continue; }
                if (i < s.length() && s.charAt(i) == '}') { i++; return out; }
                throw fail("expected , or }");
            }
        }

        List<Object> array(int depth) {
            i++;
            List<Object> out = new ArrayList<>();
            ws();
            if (i < s.length() && s.charAt(i) == ']') { i++; return out; }
            for (;;) {
                out.add(value(depth + 1));
                ws();
                if (i < s.length() && s.charAt(i) == ',') { i++; continue; }
                if (i < s.length() && s.charAt(i) == ']') { i++; return out; }
                throw fail("expected , or ]");
            }
        }

        String string() {
            i++;
            StringBuilder b = new StringBuilder();
            for (;;) {
                if (i >= s.length()) throw fail("unterminated string");
                char c = s.charAt(i);
                if (c == '"') { i++; return b.toString(); }
                if (c < ' ') throw fail("control character in a string");
                if (c != '\\') { b.append(c); i++; continue; }
                if (i + 1 >= s.length()) throw fail("bad escape");
                char e = s.charAt(i + 1);
                i += 2;
                switch (e) {
                    case '"': b.append('"'); break;
                    case '\\': b.append('\\'); break;
                    case '/': b.append('/'); break;
                    case 'b': b.append('\b'); break;
                    case 'f': b.append('\f'); break;
                    case 'n': b.append('\n'); break;
                    case 'r': b.append('\r'); break;
                    case 't': b.append('\t'); break;
                    case 'u':
                        if (i + 4 > s.length() || !s.substring(i, i + 4).matches("[0-9a-fA-F]{4}")) throw fail("bad escape");
                        b.append((char) Integer.parseInt(s.substring(i, i + 4), 16));
                        i += 4;
                        break;
                    default: throw fail("bad escape");
                }
            }
        }

        Number number() {
            java.util.regex.Matcher m = NUMBER.matcher(s).region(i, s.length());
            if (!m.lookingAt()) throw fail("bad number");
            i = m.end();
            return new Number(m.group());
        }
    }

    private static final java.util.regex.Pattern NUMBER = java.util.regex.Pattern.compile("-?(0|[1-9][0-9]*)(\\.[0-9]+)?([eE][+-]?[0-9]+)?");

    /** Writes maps, lists, strings, booleans, numbers and null as compact JSON. */
    public static String write(Object v) {
        StringBuilder b = new StringBuilder();
        write(b, v);
        return b.toString();
    }

    private static void write(StringBuilder b, Object v) {
        if (v == null) {
            b.append("null");
        } else if (v instanceof String) {
            b.append('"');
            String s = (String) v;
            for (int i = 0; i < s.length(); i++) {
                char c = s.charAt(i);
                if (c == '"' || c == '\\') b.append('\\').append(c);
                else if (c < 0x20) b.append(String.format("\\u%04x", (int) c));
                else b.append(c);
            }
            b.append('"');
        } else if (v instanceof Map) {
            b.append('{');
            boolean first = true;
            for (Map.Entry<?, ?> e : ((Map<?, ?>) v).entrySet()) {
                if (!first) b.append(',');
                first = false;
                write(b, String.valueOf(e.getKey()));
                b.append(':');
                write(b, e.getValue());
            }
            b.append('}');
        } else if (v instanceof List) {
            b.append('[');
            boolean first = true;
            for (Object x : (List<?>) v) {
                if (!first) b.append(',');
                first = false;
                write(b, x);
            }
            b.append(']');
        } else {
            b.append(v);
        }
    }
}
