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
            if (depth > 64) throw fail("too deep");
            ws();
            if (i >= s.length()) throw fail("unexpected end");
            char c = s.charAt(i);
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
                if (!folded.add(k.toLowerCase(Locale.ROOT))) throw fail("duplicate key \"" + k + "\" (keys may not repeat, nor differ only in case)");
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
