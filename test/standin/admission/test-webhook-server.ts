// A real HTTPS admission webhook for tests: it records every request (line,
// headers, parsed body) and answers with whatever the test's handler says,
// optionally after a delay. Stopped by close(), which also drops open sockets.
import { createServer, type Server } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import type { IncomingHttpHeaders } from 'node:http';
import type { Pem } from './test-pki.ts';
import type { AdmissionReviewRequest } from './review.ts';

export interface RecordedRequest {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  rawHeaders: string[];
  body: AdmissionReviewRequest;
}

export interface Answer {
  status?: number;
  /** An object is sent as JSON; a string or Buffer as is. */
  body?: unknown;
  headers?: Record<string, string>;
  delayMs?: number;
}

export type Handler = (review: AdmissionReviewRequest, req: RecordedRequest) => Answer;

export interface TestWebhookServer {
  port: number;
  requests: RecordedRequest[];
  close(): Promise<void>;
}

/** An allowed answer echoing the request's uid, with optional extra response fields. */
export function allow(review: AdmissionReviewRequest, extra: Record<string, unknown> = {}): Answer {
  return {
    body: {
      apiVersion: 'admission.k8s.io/v1',
      kind: 'AdmissionReview',
      response: { uid: review.request.uid, allowed: true, ...extra },
    },
  };
}

/** A JSONPatch answer for these operations. */
export function patch(review: AdmissionReviewRequest, ops: object[]): Answer {
  return allow(review, {
    patchType: 'JSONPatch',
    patch: Buffer.from(JSON.stringify(ops)).toString('base64'),
  });
}

export async function startWebhookServer(tls: Pem, handler: Handler): Promise<TestWebhookServer> {
  const requests: RecordedRequest[] = [];
  const sockets = new Set<Socket>();
  const timers = new Set<NodeJS.Timeout>();
  const server: Server = createServer({ cert: tls.cert, key: tls.key }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const rec: RecordedRequest = {
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        rawHeaders: req.rawHeaders,
        body: JSON.parse(Buffer.concat(chunks).toString('utf8')) as AdmissionReviewRequest,
      };
      requests.push(rec);
      const answer = handler(rec.body, rec);
      const send = () => {
        timers.delete(t);
        if (res.destroyed) return;
        const body =
          typeof answer.body === 'string' || Buffer.isBuffer(answer.body)
            ? answer.body
            : JSON.stringify(answer.body ?? {});
        res.writeHead(answer.status ?? 200, {
          'Content-Type': 'application/json',
          ...answer.headers,
        });
        res.end(body);
      };
      const t = setTimeout(send, answer.delayMs ?? 0);
      timers.add(t);
    });
  });
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  // TLS failures on the client side show up here; they are expected in tests.
  server.on('tlsClientError', () => {});
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        for (const t of timers) clearTimeout(t);
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/** A port on 127.0.0.1 that nothing listens on (bound, then released). */
export async function closedPort(): Promise<number> {
  const { createServer: createTcp } = await import('node:net');
  const s = createTcp();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}
