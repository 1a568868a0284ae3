// Helpers for the stand-in's own tests: the captured fixtures and a small
// HTTPS client that trusts the stand-in's CA (no dependency on client-node, so
// the wire format is what the tests see).
import { existsSync, readFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));

/** fixtures/kube-1.24: $SCRIBE_KUBE_FIXTURES, the repository's copy, or the shared one. */
export const FIXTURES = [
  process.env.SCRIBE_KUBE_FIXTURES,
  join(here, '../../fixtures/kube-1.24'),
  '/work/shared/fixtures/kube-1.24',
].find((d): d is string => d !== undefined && existsSync(join(d, 'README.md')))!;

export function fixture<T = Record<string, unknown>>(rel: string): T {
  if (!FIXTURES) throw new Error('kube-1.24 fixtures not found (set SCRIBE_KUBE_FIXTURES)');
  return JSON.parse(readFileSync(join(FIXTURES, rel), 'utf8')) as T;
}

export interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  json: () => unknown;
}

export interface Conn {
  url: string;
  caPem: string;
  token?: string;
}

export function call(
  c: Conn,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<Reply> {
  const u = new URL(path, c.url);
  const h: Record<string, string> = {
    Accept: 'application/json',
    'User-Agent': 'fixture-capture/1.0',
    ...headers,
  };
  if (c.token) h.Authorization = `Bearer ${c.token}`;
  let data: string | undefined;
  if (body !== undefined) {
    data = typeof body === 'string' ? body : JSON.stringify(body);
    h['Content-Type'] ??= 'application/json';
    h['Content-Length'] = String(Buffer.byteLength(data));
  }
  return new Promise((resolve, reject) => {
    const req = httpsRequest(u, { method, headers: h, ca: c.caPem }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (d: Buffer) => chunks.push(d));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          text,
          json: () => JSON.parse(text) as unknown,
        });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    if (data !== undefined) req.write(data);
    req.end();
  });
}

/** Replaces every `"name"`-like identifier so bodies from two runs compare equal. */
export function normalise(text: string, replacements: [string | RegExp, string][]): string {
  let t = text;
  for (const [from, to] of replacements) t = t.split(from as string).join(to);
  return t;
}
