// A strict JSON reader for signed documents. JSON.parse takes the last of
// duplicate keys, and Go matches keys case-insensitively: a signed document
// with "users" and "USERS" would mean different things to different
// verifiers. This reader refuses both, keeps numbers as their literal text
// (so 1.0 is not 1), and refuses anything after the value but whitespace.

export class JSONNumber {
  constructor(raw) { this.raw = raw; }
}

/** How deep objects and arrays may nest (as Go's protocol.MaxDepth). */
export const MAX_DEPTH = 32;

// foldChar maps a character to one representative of its case-folding
// orbit (as Go's unicode.SimpleFold): "K", "k" and KELVIN SIGN all fold to
// "k", "S", "s" and LONG S to "s". Characters whose upper or lower case is
// more than one character (ß → SS) fold to themselves.
function foldChar(c) {
  const u = c.toUpperCase();
  const base = [...u].length === 1 ? u : c;
  const l = base.toLowerCase();
  return [...l].length === 1 ? l : base;
}

/** Folds a key for comparison ignoring case. */
export const foldKey = (k) => Array.from(k, foldChar).join('');

export function parseStrict(text) {
  let i = 0;
  const n = text.length;
  const fail = (what) => { throw new SyntaxError(`JSON: ${what} at ${i}`); };
  const ws = () => { while (i < n && (text[i] === ' ' || text[i] === '\t' || text[i] === '\n' || text[i] === '\r')) i++; };
  const value = (depth) => {
    ws();
    const c = text[i];
    if ((c === '{' || c === '[') && depth >= MAX_DEPTH) fail(`nested deeper than ${MAX_DEPTH}`);
    if (c === '{') return object(depth);
    if (c === '[') return array(depth);
    if (c === '"') return string();
    if (c === '-' || (c >= '0' && c <= '9')) return number();
    for (const [word, v] of [['true', true], ['false', false], ['null', null]]) {
      if (text.startsWith(word, i)) { i += word.length; return v; }
    }
    fail('unexpected character');
  };
  const object = (depth) => {
    i++;
    const out = Object.create(null);
    const folded = new Set();
    ws();
    if (text[i] === '}') { i++; return out; }
    for (;;) {
      ws();
      if (text[i] !== '"') fail('expected a key');
      const k = string();
      const f = foldKey(k);
      if (folded.has(f)) fail(`duplicate key ${JSON.stringify(k)} (keys may not repeat, nor differ only in case)`);
      folded.add(f);
      ws();
      if (text[i] !== ':') fail('expected :');
      i++;
      out[k] = value(depth + 1);
      ws();
      if (text[i] === ',') { i++; continue; }
      if (text[i] === '}') { i++; return out; }
      fail('expected , or }');
    }
  };
  const array = (depth) => {
    i++;
    const out = [];
    ws();
    if (text[i] === ']') { i++; return out; }
    for (;;) {
      out.push(value(depth + 1));
      ws();
      if (text[i] === ',') { i++; continue; }
      if (text[i] === ']') { i++; return out; }
      fail('expected , or ]');
    }
  };
  const string = () => {
    i++;
    let s = '';
    for (;;) {
      if (i >= n) fail('unterminated string');
      const c = text[i];
      if (c === '"') { i++; return s; }
      if (c < ' ') fail('control character in a string');
      if (c !== '\\') { s += c; i++; continue; }
      const e = text[i + 1];
      i += 2;
      const simple = { '"': '"', '\\': '\\', '/': '/', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t' }[e];
      if (simple !== undefined) { s += simple; continue; }
      if (e !== 'u' || !/^[0-9a-fA-F]{4}$/.test(text.slice(i, i + 4))) fail('bad escape');
      s += String.fromCharCode(parseInt(text.slice(i, i + 4), 16));
      i += 4;
    }
  };
  const number = () => {
    const m = /^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?/.exec(text.slice(i, i + 400));
    if (!m) fail('bad number');
    i += m[0].length;
    return new JSONNumber(m[0]);
  };
  const v = value(0);
  ws();
  if (i !== n) fail('data after the value');
  return v;
}
