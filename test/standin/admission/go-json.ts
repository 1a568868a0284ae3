// encoding/json's complaint about text that is not JSON, for the places where
// the real server passes it on verbatim (an undecodable answer or patch).
// Exact for the usual cases (a bad first character, a misspelt literal,
// truncation); other syntax errors get the truncation text.
const LITERALS: Record<string, string> = { t: 'true', f: 'false', n: 'null' };

export function goJsonSyntaxError(text: string): string | undefined {
  try {
    JSON.parse(text);
    return undefined;
  } catch {
    const body = text.trimStart();
    const first = body[0];
    if (first === undefined) return 'unexpected end of JSON input';
    const literal = LITERALS[first];
    if (literal) {
      for (let i = 1; i < literal.length; i += 1) {
        if (body[i] === undefined) return 'unexpected end of JSON input';
        if (body[i] !== literal[i]) {
          return `invalid character '${body[i]}' in literal ${literal} (expecting '${literal[i]}')`;
        }
      }
    } else if (!/[{["\-\d]/.test(first)) {
      return `invalid character '${first}' looking for beginning of value`;
    }
    return 'unexpected end of JSON input';
  }
}
