// RFC 6901: "~" is "~0" and "/" is "~1" inside a reference token, "~" first.
export function escapeToken(token: string): string {
  return token.replace(/~/g, '~0').replace(/\//g, '~1');
}

export function pointer(...tokens: string[]): string {
  return tokens.map((t) => `/${escapeToken(t)}`).join('');
}
