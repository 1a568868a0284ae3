// The HTTPS edge: one POST of an AdmissionReview to a webhook, made the way
// kube-apiserver's webhook client makes it, with failures worded the way Go's
// net/http, crypto/x509 and client-go word them (the text ends up verbatim in
// the Status the API client sees).
//
// - `clientConfig.url` is called as written; a `service` reference is called
//   at https://NAME.NAMESPACE.svc:PORT/PATH (port 443 by default) but
//   dialled at the local address the resolver returns, and the certificate
//   is verified for NAME.NAMESPACE.svc.
// - The caBundle (base64 PEM) is the only trust root; without one, the
//   system roots. Names are checked against SANs only (no Common Name), as
//   Go does since 1.17.
// - `?timeout=Ns` tells the webhook its budget; the same budget is enforced
//   here from connect to the last byte of the answer.
import { X509Certificate } from 'node:crypto';
import type { PeerCertificate } from 'node:tls';
import { request } from 'node:https';
import { isIP } from 'node:net';
import { gunzipSync } from 'node:zlib';
import type { AdmissionregistrationV1WebhookClientConfig } from '@kubernetes/client-node';
import { goJsonSyntaxError } from './go-json.ts';

/** Go's http client has no cap; the stand-in refuses answers larger than the server's request limit. */
export const MAX_RESPONSE_BYTES = 3 * 1024 * 1024;

export interface ServiceRef {
  namespace: string;
  name: string;
  port: number;
}

export type ResolveService = (ref: ServiceRef) => Promise<{ host: string; port: number }>;

/** A failure before a usable answer arrived; `message` is what follows "failed to call webhook: ". */
export class CallError extends Error {
  /** Set when the REST client could not even be built (bad caBundle, bad URL). */
  readonly clientConfig: boolean;
  constructor(message: string, clientConfig = false) {
    super(message);
    this.name = 'CallError';
    this.clientConfig = clientConfig;
  }
}

export interface WebhookEndpoint {
  /** The URL as Go prints it in errors, including ?timeout=. */
  url: string;
  /** Where to dial. */
  host: string;
  port: number;
  /** The name the certificate must be valid for (a DNS name or an IP). */
  verifyName: string;
  /** Host header. */
  hostHeader: string;
  /** Request target (path and query). */
  path: string;
  /** Trust roots from the caBundle, or undefined for the system roots. */
  ca?: string;
}

function caFromBundle(caBundle: string | undefined): string | undefined {
  if (!caBundle) return undefined;
  const pem = Buffer.from(caBundle, 'base64').toString('utf8');
  const blocks = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  const usable = blocks.filter((b) => {
    try {
      new X509Certificate(b);
      return true;
    } catch {
      return false;
    }
  });
  if (usable.length === 0) {
    throw new CallError(
      'unable to load root certificates: unable to parse bytes as PEM block',
      true,
    );
  }
  return usable.join('\n');
}

const bracket = (host: string) => (isIP(host) === 6 ? `[${host}]` : host);

/** Where and how to call a webhook; resolves a service reference to a local address. */
export async function webhookEndpoint(
  cc: AdmissionregistrationV1WebhookClientConfig,
  timeoutSeconds: number,
  resolveService: ResolveService,
): Promise<WebhookEndpoint> {
  const ca = caFromBundle(cc.caBundle);
  const query = `?timeout=${timeoutSeconds}s`;
  if (cc.service) {
    const port = cc.service.port ?? 443;
    const serverName = `${cc.service.name}.${cc.service.namespace}.svc`;
    const hostPort = `${serverName}:${port}`;
    const path = cc.service.path ?? '';
    const url = `https://${hostPort}${path}${query}`;
    let addr: { host: string; port: number };
    try {
      addr = await resolveService({ namespace: cc.service.namespace, name: cc.service.name, port });
    } catch (e) {
      throw new CallError(`Post "${url}": ${(e as Error).message}`);
    }
    return {
      url,
      host: addr.host,
      port: addr.port,
      verifyName: serverName,
      hostHeader: hostPort,
      path: `${path || '/'}${query}`,
      ca,
    };
  }
  if (!cc.url) {
    throw new CallError('webhook clientConfig has neither url nor service', true);
  }
  let u: URL;
  try {
    u = new URL(cc.url);
  } catch {
    throw new CallError(`parse "${cc.url}": invalid URL`, true);
  }
  const host = u.hostname.replace(/^\[(.*)\]$/, '$1');
  const port = u.port ? Number(u.port) : 443;
  // Keep the URL as written (an explicit :443 stays), as Go prints it.
  const written = cc.url.replace(/[?#].*$/, '');
  return {
    url: `${written}${query}`,
    host,
    port,
    verifyName: host,
    hostHeader: u.port ? `${bracket(host)}:${u.port}` : bracket(host),
    path: `${u.pathname || '/'}${query}`,
    ca,
  };
}

// ---- certificate names, as crypto/x509 checks and words them ----

function sans(cert: PeerCertificate): { dns: string[]; ips: string[] } {
  const dns: string[] = [];
  const ips: string[] = [];
  for (const part of (cert.subjectaltname ?? '').split(/,\s*/)) {
    if (part.startsWith('DNS:')) dns.push(part.slice(4));
    else if (part.startsWith('IP Address:')) ips.push(part.slice(11));
  }
  return { dns, ips };
}

function dnsMatches(pattern: string, host: string): boolean {
  const p = pattern.toLowerCase().replace(/\.$/, '');
  const h = host.toLowerCase().replace(/\.$/, '');
  if (p === h) return true;
  if (!p.startsWith('*.')) return false;
  const dot = h.indexOf('.');
  return dot > 0 && h.slice(dot + 1) === p.slice(2);
}

function sameIp(a: string, b: string): boolean {
  const norm = (s: string) => (isIP(s) === 6 ? new URL(`http://[${s}]/`).hostname : s);
  return norm(a) === norm(b);
}

/** undefined when `cert` is valid for `name`, else Go's x509.HostnameError text. */
export function hostnameError(cert: PeerCertificate, name: string): string | undefined {
  const { dns, ips } = sans(cert);
  const hasSan = dns.length > 0 || ips.length > 0;
  if (isIP(name)) {
    if (ips.some((ip) => sameIp(ip, name))) return undefined;
  } else if (dns.some((d) => dnsMatches(d, name))) {
    return undefined;
  }
  const cn = typeof cert.subject?.CN === 'string' ? cert.subject.CN : '';
  if (!hasSan && cn && dnsMatches(cn, name)) {
    return 'x509: certificate relies on legacy Common Name field, use SANs instead';
  }
  let valid: string;
  if (isIP(name)) {
    if (ips.length === 0) {
      return `x509: cannot validate certificate for ${name} because it doesn't contain any IP SANs`;
    }
    valid = ips.join(', ');
  } else {
    valid = dns.join(', ');
  }
  if (!valid) return `x509: certificate is not valid for any names, but wanted to match ${name}`;
  return `x509: certificate is valid for ${valid}, not ${name}`;
}

// ---- Node's errors in Go's words ----

const UNKNOWN_AUTHORITY = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_SIGNATURE_FAILURE',
  'CERT_UNTRUSTED',
]);

class DeadlineError extends Error {}
class NameError extends Error {}

function goNetError(e: NodeJS.ErrnoException, ep: WebhookEndpoint): string {
  const dial = `dial tcp ${bracket(ep.host)}:${ep.port}`;
  if (e instanceof DeadlineError) return 'context deadline exceeded';
  if (e instanceof NameError) return e.message;
  switch (e.code) {
    case 'ECONNREFUSED':
      return `${dial}: connect: connection refused`;
    case 'EHOSTUNREACH':
      return `${dial}: connect: no route to host`;
    case 'ENETUNREACH':
      return `${dial}: connect: network is unreachable`;
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return `dial tcp: lookup ${ep.host}: no such host`;
    case 'ECONNRESET':
      return e.message === 'socket hang up' ? 'EOF' : 'read: connection reset by peer';
    case 'CERT_HAS_EXPIRED':
    case 'CERT_NOT_YET_VALID':
      return 'x509: certificate has expired or is not yet valid';
  }
  if (e.code && UNKNOWN_AUTHORITY.has(e.code))
    return 'x509: certificate signed by unknown authority';
  if (/wrong version number|packet length too long/.test(e.message)) {
    return 'http: server gave HTTP response to HTTPS client';
  }
  if (e.code?.startsWith('ERR_SSL') || e.code === 'EPROTO')
    return `remote error: tls: ${e.message}`;
  return e.message;
}

/** client-go's wording for a non-2xx answer that is not a Status (errors.NewGenericServerResponse). */
function httpStatusError(code: number, body: Buffer, contentType: string): string {
  try {
    const s = JSON.parse(body.toString('utf8')) as {
      kind?: string;
      status?: string;
      message?: string;
    };
    if (s && s.kind === 'Status' && s.status === 'Failure' && s.message) return s.message;
  } catch {
    // not JSON: fall through to the generic text
  }
  const text = contentType.startsWith('text/')
    ? body.subarray(0, 2048).toString('utf8').trim()
    : 'unknown';
  switch (code) {
    case 400:
      return 'the server rejected our request for an unknown reason';
    case 401:
      return 'the server has asked for the client to provide credentials';
    case 403:
    case 406:
    case 415:
      return text;
    case 404:
      return 'the server could not find the requested resource';
    case 405:
      return 'the server does not allow this method on the requested resource';
    case 422:
      return 'the server rejected our request due to an error in our request';
    case 429:
      return 'the server has received too many requests and has asked us to try again later';
    case 503:
      return 'the server is currently unable to handle the request';
    case 504:
      return 'the server was unable to return a response in the time allotted, but may still be processing the request';
  }
  if (code >= 500) {
    return `an error on the server (${JSON.stringify(text)}) has prevented the request from succeeding`;
  }
  return `the server responded with the status code ${code} but did not return more information`;
}

/** Go's json decoder complaint for a body that is not JSON, as client-go reports it. */
function undecodable(body: Buffer): string {
  const reason = goJsonSyntaxError(body.toString('utf8')) ?? 'unexpected end of JSON input';
  return `couldn't get version/kind; json parse error: ${reason}`;
}

/**
 * POSTs `body` and returns the parsed JSON answer of a 2xx response, or
 * throws a CallError with the text Go's client would give.
 */
export function postReview(
  ep: WebhookEndpoint,
  body: Buffer,
  timeoutSeconds: number,
): Promise<unknown> {
  return new Promise((resolve, reject) => {
    let settled = false;
    const fail = (e: Error, prefixed = true) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      const text = goNetError(e as NodeJS.ErrnoException, ep);
      reject(new CallError(prefixed ? `Post "${ep.url}": ${text}` : text));
    };
    const req = request({
      host: ep.host,
      port: ep.port,
      method: 'POST',
      path: ep.path,
      agent: false,
      ca: ep.ca,
      servername: isIP(ep.verifyName) ? undefined : ep.verifyName,
      minVersion: 'TLSv1.2',
      rejectUnauthorized: true,
      checkServerIdentity: (_host, cert) => {
        const err = hostnameError(cert, ep.verifyName);
        return err ? new NameError(err) : undefined;
      },
      headers: {
        Host: ep.hostHeader,
        'User-Agent': 'kube-apiserver-admission',
        'Content-Length': String(body.length),
        Accept: 'application/json, */*',
        'Content-Type': 'application/json',
        'Accept-Encoding': 'gzip',
      },
    });
    const timer = setTimeout(() => req.destroy(new DeadlineError()), timeoutSeconds * 1000);
    req.on('error', (e) => fail(e));
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (c: Buffer) => {
        size += c.length;
        if (size > MAX_RESPONSE_BYTES) {
          req.destroy(new Error(`webhook response larger than ${MAX_RESPONSE_BYTES} bytes`));
          return;
        }
        chunks.push(c);
      });
      res.on('error', (e) => fail(e));
      res.on('end', () => {
        if (settled) return;
        let data = Buffer.concat(chunks);
        try {
          if (/\bgzip\b/i.test(String(res.headers['content-encoding'] ?? '')))
            data = gunzipSync(data);
        } catch {
          fail(new Error('gzip: invalid header'));
          return;
        }
        const code = res.statusCode ?? 0;
        if (code < 200 || code > 206) {
          fail(
            new Error(httpStatusError(code, data, String(res.headers['content-type'] ?? ''))),
            false,
          );
          return;
        }
        let parsed: unknown;
        try {
          parsed = JSON.parse(data.toString('utf8'));
        } catch {
          fail(new Error(undecodable(data)), false);
          return;
        }
        settled = true;
        clearTimeout(timer);
        resolve(parsed);
      });
    });
    req.end(body);
  });
}
