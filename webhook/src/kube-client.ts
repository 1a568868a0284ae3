import * as http from 'node:http';
import * as https from 'node:https';
import type { V1Status } from '@kubernetes/client-node';
import type { KubeAccess } from './kube-access.ts';

// The few API calls the webhook makes (read the server version, list and
// watch claims, keep its CA Secret, set caBundle, ask SubjectAccessReviews),
// over one keep-alive agent.
// Errors carry the API's Status, so callers branch on the code as they would
// with any Kubernetes client.

export class KubeApiError extends Error {
  readonly code: number;
  readonly reason: string | undefined;

  constructor(code: number, message: string, reason?: string) {
    super(message);
    this.name = 'KubeApiError';
    this.code = code;
    this.reason = reason;
  }
}

export function statusCode(err: unknown): number | undefined {
  return err instanceof KubeApiError ? err.code : undefined;
}

export interface WatchEvent<T> {
  type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';
  object: T;
}

export interface RequestOptions {
  query?: Record<string, string | undefined>;
  body?: unknown;
  contentType?: string;
  timeoutMs?: number;
}

function apiError(code: number, body: string, what: string): KubeApiError {
  try {
    const s = JSON.parse(body) as V1Status;
    if (s.kind === 'Status' && s.message)
      return new KubeApiError(s.code ?? code, s.message, s.reason);
  } catch {
    // not a Status: fall through to the HTTP status
  }
  return new KubeApiError(code, `${what}: HTTP ${code}${body ? `: ${body.slice(0, 200)}` : ''}`);
}

export class KubeClient {
  readonly #access: KubeAccess;
  readonly #agent: http.Agent;
  readonly #secure: boolean;

  constructor(access: KubeAccess) {
    this.#access = access;
    this.#secure = access.server.startsWith('https:');
    this.#agent = this.#secure
      ? new https.Agent({
          keepAlive: true,
          ca: access.ca,
          cert: access.clientCert,
          key: access.clientKey,
          rejectUnauthorized: !access.insecureSkipTlsVerify,
        })
      : new http.Agent({ keepAlive: true });
  }

  #url(path: string, query: RequestOptions['query']): URL {
    const url = new URL(this.#access.server + path);
    for (const [k, v] of Object.entries(query ?? {}))
      if (v !== undefined) url.searchParams.set(k, v);
    return url;
  }

  #send(method: string, url: URL, opts: RequestOptions): http.ClientRequest {
    const headers: http.OutgoingHttpHeaders = { accept: 'application/json' };
    const token = this.#access.token?.();
    if (token) headers.authorization = `Bearer ${token}`;
    if (opts.body !== undefined) headers['content-type'] = opts.contentType ?? 'application/json';
    const req = (this.#secure ? https : http).request(url, { method, headers, agent: this.#agent });
    if (opts.timeoutMs)
      req.setTimeout(opts.timeoutMs, () =>
        req.destroy(new Error(`no answer in ${opts.timeoutMs} ms`)),
      );
    req.end(opts.body === undefined ? undefined : JSON.stringify(opts.body));
    return req;
  }

  request<T>(method: string, path: string, opts: RequestOptions = {}): Promise<T> {
    const what = `${method} ${path}`;
    return new Promise<T>((resolve, reject) => {
      const req = this.#send(method, this.#url(path, opts.query), { timeoutMs: 30_000, ...opts });
      req.on('error', (err) => reject(new Error(`${what}: ${err.message}`, { cause: err })));
      req.on('response', (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => {
          const body = Buffer.concat(chunks).toString('utf8');
          const code = res.statusCode ?? 0;
          if (code < 200 || code > 299) return reject(apiError(code, body, what));
          try {
            resolve(JSON.parse(body) as T);
          } catch {
            reject(new Error(`${what}: the answer is not JSON`));
          }
        });
      });
    });
  }

  /**
   * Streams a watch until the server ends it (resolves) or it fails (rejects).
   * `signal` ends it from this side; that resolves too.
   */
  watch<T>(
    path: string,
    query: Record<string, string | undefined>,
    onEvent: (e: WatchEvent<T>) => void,
    signal: AbortSignal,
  ): Promise<void> {
    const what = `watch ${path}`;
    return new Promise<void>((resolve, reject) => {
      if (signal.aborted) return resolve();
      const req = this.#send('GET', this.#url(path, { ...query, watch: 'true' }), {});
      const abort = () => {
        req.destroy();
        resolve();
      };
      signal.addEventListener('abort', abort, { once: true });
      const done = (err?: Error) => {
        signal.removeEventListener('abort', abort);
        if (signal.aborted) resolve();
        else if (err) reject(err);
        else resolve();
      };
      req.on('error', (err) => done(new Error(`${what}: ${err.message}`, { cause: err })));
      req.on('response', (res) => {
        const code = res.statusCode ?? 0;
        if (code !== 200) {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => done(apiError(code, Buffer.concat(chunks).toString('utf8'), what)));
          return;
        }
        let pending = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          pending += chunk;
          let nl: number;
          while ((nl = pending.indexOf('\n')) >= 0) {
            const line = pending.slice(0, nl).trim();
            pending = pending.slice(nl + 1);
            if (!line) continue;
            let event: WatchEvent<T>;
            try {
              event = JSON.parse(line) as WatchEvent<T>;
            } catch {
              req.destroy();
              return done(new Error(`${what}: a watch event is not JSON`));
            }
            onEvent(event);
          }
        });
        res.on('error', (err) => done(err));
        res.on('end', () => done());
      });
    });
  }

  close(): void {
    this.#agent.destroy();
  }
}
