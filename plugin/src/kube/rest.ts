// The HTTP edge to one cluster's API server, as the resolved kubeconfig
// describes it. Deliberately not the generated client of
// @kubernetes/client-node: importing it costs 0.7-1.1 s (its thousand model
// classes load eagerly), several times kubectl's whole `get pvc`. Types still
// come from the library (type-only imports), and exec credential plugins run
// through the library's own ExecAuth.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type * as Http from 'node:http';
import type * as Https from 'node:https';
import { CliError } from '../errors.ts';
import type { ResolvedConfig } from '../kubeconfig/types.ts';
import { VERSION } from '../version.ts';
import { apiError, connectionError, type RequestIntent } from './api-errors.ts';

/** Patch bodies and the Content-Type each needs (a mismatch is a 400 or 422). */
export const patchContentType = {
  merge: 'application/merge-patch+json',
  json: 'application/json-patch+json',
  strategic: 'application/strategic-merge-patch+json',
} as const;
export type PatchKind = keyof typeof patchContentType;

export const fieldManager = 'kubectl-scribe';

// Loaded with require: the ESM facade of node:http reads every export, which
// loads Node's bundled undici for its fetch getters (tens of milliseconds on
// every start of every command).
const require = createRequire(import.meta.url);
const http = require('node:http') as typeof Http;
const https = require('node:https') as typeof Https;

export interface RestRequest {
  method: 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE';
  path: string;
  query?: Record<string, string | undefined>;
  body?: unknown;
  contentType?: string;
  intent: Omit<RequestIntent, 'context'>;
}

export interface RestOptions {
  /** --request-timeout in milliseconds; undefined waits as long as it takes. */
  timeoutMs?: number | undefined;
}

function readMaterial(path: string | undefined, data: string | undefined, what: string) {
  if (data) return Buffer.from(data, 'base64');
  if (!path) return undefined;
  try {
    return readFileSync(path);
  } catch (err) {
    throw new CliError(
      `cannot read ${what} ${path}: ${(err as NodeJS.ErrnoException).code ?? err}`,
      { cause: err },
    );
  }
}

export class KubeRest {
  readonly context: string;
  readonly namespace: string;
  readonly server: URL;
  readonly timeoutMs: number | undefined;
  private readonly config: ResolvedConfig;
  private readonly agent: Http.Agent;
  private readonly tls: Https.AgentOptions;
  private readonly baseHeaders: Record<string, string>;
  private tlsFromExec: { cert?: Buffer | string; key?: Buffer | string } = {};

  constructor(config: ResolvedConfig, options: RestOptions = {}) {
    this.config = config;
    this.context = config.contextName || config.clusterName;
    this.namespace = config.namespace;
    this.timeoutMs = options.timeoutMs;
    this.server = new URL(config.cluster.server);
    const c = config.cluster;
    const u = config.user;
    if (c['proxy-url']) {
      throw new CliError(
        `cluster "${config.clusterName}" uses proxy-url, which kubectl scribe does not support yet; reach the server directly or through a tunnel`,
      );
    }
    const tls: Https.AgentOptions = {
      keepAlive: true,
      ca: readMaterial(c['certificate-authority'], c['certificate-authority-data'], 'the CA file'),
      cert: readMaterial(
        u['client-certificate'],
        u['client-certificate-data'],
        'client-certificate',
      ),
      key: readMaterial(u['client-key'], u['client-key-data'], 'client-key'),
      rejectUnauthorized: c['insecure-skip-tls-verify'] !== true,
      ...(c['tls-server-name'] ? { servername: c['tls-server-name'] } : {}),
    };
    this.tls = tls;
    this.agent =
      this.server.protocol === 'https:'
        ? new https.Agent(tls)
        : new http.Agent({ keepAlive: true });
    this.baseHeaders = {
      Accept: 'application/json',
      'User-Agent': `kubectl-scribe/v${VERSION} (${process.platform}/${process.arch})`,
    };
    if (u.as) this.baseHeaders['Impersonate-User'] = u.as;
    if (u.username && u.password) {
      const basic = Buffer.from(`${u.username}:${u.password}`).toString('base64');
      this.baseHeaders.Authorization = `Basic ${basic}`;
    }
    if (u.token) this.baseHeaders.Authorization = `Bearer ${u.token}`;
    if (u['auth-provider']) {
      throw new CliError(
        `user "${config.userName}" uses the ${u['auth-provider'].name} auth-provider, which kubectl removed; use an exec credential plugin instead`,
      );
    }
  }

  /** Headers for one request: a service-account token file is re-read (it rotates). */
  private async authHeaders(): Promise<Record<string, string>> {
    const u = this.config.user;
    if (u.tokenFile && !u.token) {
      let token: string;
      try {
        token = readFileSync(u.tokenFile, 'utf8').trim();
      } catch (err) {
        throw new CliError(
          `cannot read the token file ${u.tokenFile}: ${(err as NodeJS.ErrnoException).code ?? err}`,
        );
      }
      return { Authorization: `Bearer ${token}` };
    }
    if (u.exec) {
      const { ExecAuth } = await import('@kubernetes/client-node/dist/exec_auth.js');
      execAuth ??= new ExecAuth();
      const opts: Https.RequestOptions & { headers: Record<string, string> } = { headers: {} };
      try {
        await execAuth.applyAuthentication(
          { name: this.config.userName, exec: u.exec } as Parameters<
            typeof execAuth.applyAuthentication
          >[0],
          opts,
        );
      } catch (err) {
        throw new CliError(
          `the exec credential plugin "${u.exec.command}" of user "${this.config.userName}" failed: ${String((err as Error).message ?? err).trim()}`,
          { cause: err },
        );
      }
      if (opts.cert) this.tlsFromExec.cert = opts.cert as string;
      if (opts.key) this.tlsFromExec.key = opts.key as string;
      return opts.headers;
    }
    return {};
  }

  async request<T>(req: RestRequest): Promise<T> {
    const intent: RequestIntent = { ...req.intent, context: this.context };
    const url = new URL(this.server.href.replace(/\/$/, '') + req.path);
    for (const [k, v] of Object.entries(req.query ?? {})) {
      if (v !== undefined) url.searchParams.set(k, v);
    }
    const headers: Record<string, string> = { ...this.baseHeaders, ...(await this.authHeaders()) };
    let payload: Buffer | undefined;
    if (req.body !== undefined) {
      payload = Buffer.from(typeof req.body === 'string' ? req.body : JSON.stringify(req.body));
      headers['Content-Type'] = req.contentType ?? 'application/json';
      headers['Content-Length'] = String(payload.length);
    }
    const { status, body } = await this.send(url, req.method, headers, payload);
    if (status >= 200 && status < 300) {
      return (body.length ? JSON.parse(body) : undefined) as T;
    }
    throw apiError(status, body, intent);
  }

  private send(
    url: URL,
    method: string,
    headers: Record<string, string>,
    payload: Buffer | undefined,
  ): Promise<{ status: number; body: string }> {
    const lib = url.protocol === 'https:' ? https : http;
    const signal = this.timeoutMs ? AbortSignal.timeout(this.timeoutMs) : undefined;
    return new Promise((resolve, reject) => {
      const r = lib.request(
        url,
        {
          method,
          headers,
          // A client certificate from an exec plugin: this request's own TLS
          // options (the kubeconfig's, with that certificate).
          ...(this.tlsFromExec.cert
            ? { ...this.tls, keepAlive: false, ...this.tlsFromExec }
            : { agent: this.agent }),
          ...(signal ? { signal } : {}),
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () =>
            resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }),
          );
          res.on('error', (err) => reject(connectionError(err, this.server.href, this.context)));
        },
      );
      r.on('error', (err) => reject(connectionError(err, this.server.href, this.context)));
      if (payload) r.write(payload);
      r.end();
    });
  }

  /** Frees keep-alive sockets so the process can exit at once. */
  close(): void {
    this.agent.destroy();
  }
}

let execAuth: import('@kubernetes/client-node/dist/exec_auth.js').ExecAuth | undefined;
