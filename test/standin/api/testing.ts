// Helpers for the stand-in's own tests: the captured fixtures and a small
// HTTPS client that trusts the stand-in's CA (no dependency on client-node, so
// the wire format is what the tests see).
import { readFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { join } from 'node:path';
import { kubeFixturesDir } from '../../support/fixtures.ts';

/** fixtures/kube-1.24: $SCRIBE_KUBE_FIXTURES, else the repository's copy. */
export const FIXTURES = process.env.SCRIBE_KUBE_FIXTURES ?? kubeFixturesDir;

export function fixture<T = Record<string, unknown>>(rel: string): T {
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

export interface WatchEvent {
  type: string;
  object: {
    kind?: string;
    metadata?: { name?: string; resourceVersion?: string };
    [k: string]: unknown;
  };
}

export interface OpenWatch {
  status: Promise<number>;
  events: WatchEvent[];
  /** Resolves when `n` events have arrived (rejects after `ms`). */
  until(n: number, ms?: number): Promise<WatchEvent[]>;
  /** Resolves when the server ends the stream. */
  ended: Promise<void>;
  close(): void;
}

/** Opens a watch and collects its newline-delimited events. */
export function openWatch(c: Conn, path: string, headers: Record<string, string> = {}): OpenWatch {
  const events: WatchEvent[] = [];
  const waiters: { n: number; resolve: (e: WatchEvent[]) => void }[] = [];
  let buffer = '';
  let resolveStatus!: (n: number) => void;
  let resolveEnded!: () => void;
  const status = new Promise<number>((r) => (resolveStatus = r));
  const ended = new Promise<void>((r) => (resolveEnded = r));
  const h: Record<string, string> = { Accept: 'application/json', ...headers };
  if (c.token) h.Authorization = `Bearer ${c.token}`;
  const req = httpsRequest(new URL(path, c.url), { headers: h, ca: c.caPem }, (res) => {
    resolveStatus(res.statusCode ?? 0);
    res.setEncoding('utf8');
    res.on('data', (d: string) => {
      buffer += d;
      let i: number;
      while ((i = buffer.indexOf('\n')) >= 0) {
        const line = buffer.slice(0, i);
        buffer = buffer.slice(i + 1);
        if (line.trim()) events.push(JSON.parse(line) as WatchEvent);
      }
      for (const w of [...waiters]) {
        if (events.length >= w.n) {
          waiters.splice(waiters.indexOf(w), 1);
          w.resolve(events.slice());
        }
      }
    });
    res.on('end', () => resolveEnded());
    res.on('close', () => resolveEnded());
  });
  req.on('error', () => resolveEnded());
  req.end();
  return {
    status,
    events,
    ended,
    until(n, ms = 5000) {
      if (events.length >= n) return Promise.resolve(events.slice());
      return new Promise((resolve, reject) => {
        const t = setTimeout(
          () =>
            reject(
              new Error(
                `watch: ${events.length}/${n} events after ${ms} ms: ${JSON.stringify(events.map((e) => e.type))}`,
              ),
            ),
          ms,
        );
        waiters.push({ n, resolve: (e) => (clearTimeout(t), resolve(e)) });
      });
    },
    close() {
      req.destroy();
    },
  };
}
