import { createServer, type Server as HttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import express, { type ErrorRequestHandler, type Request, type Response } from 'express';
import {
  type AdmissionDecision,
  type AdmissionRequest,
  BadReviewError,
  parseAdmissionReview,
  serializeReview,
} from './admission-review.ts';
import { DEFAULT_MAX_BODY_BYTES } from './defaults.ts';
import { type Logger, requestLogger } from './log.ts';
import type { WebhookMetrics } from './metrics.ts';
import { type CertificateSource, serveRotations } from './tls-source.ts';

// The thin HTTPS edge: read the body, hand the request to a pure decision,
// write the AdmissionReview. Nothing here decides anything about Scribe.

export const WEBHOOK_PATHS = {
  mutatePods: '/mutate/pods',
  validatePersistentVolumeClaims: '/validate/persistentvolumeclaims',
} as const;

export { DEFAULT_MAX_BODY_BYTES };

export interface HandlerOutcome {
  decision: AdmissionDecision;
  // For metrics and logs: why a request was denied or what was injected.
  reason?: string;
  injected?: number;
  // An error behind the verdict (the API server could not be asked): logged as a warning.
  error?: string;
}

// May ask the API server (a SubjectAccessReview), hence a promise.
export type AdmissionHandler = (req: AdmissionRequest) => HandlerOutcome | Promise<HandlerOutcome>;

export interface EdgeOptions {
  mutate: AdmissionHandler;
  validate: AdmissionHandler;
  metrics: WebhookMetrics;
  log: Logger;
  // Reasons not to take traffic yet (empty: ready).
  notReady: () => string[];
  maxBodyBytes?: number;
  sidecarMode?: string;
}

function status(res: Response, code: number, reason: string, message: string): void {
  // The shape kubectl and the apiserver know for any error.
  res.status(code).json({
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    message,
    reason,
    code,
  });
}

function resultLabel(d: AdmissionDecision): 'allowed' | 'patched' | 'denied' {
  if (!d.allowed) return 'denied';
  return d.patch && d.patch.length > 0 ? 'patched' : 'allowed';
}

export function createApp(opts: EdgeOptions): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.disable('etag');
  const limit = opts.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const { metrics, log } = opts;
  const requestLog = requestLogger(log);

  app.get('/healthz', (_req, res) => {
    res.type('text/plain').send('ok');
  });
  app.get('/readyz', (_req, res) => {
    const reasons = opts.notReady();
    if (reasons.length === 0) res.type('text/plain').send('ok');
    else
      res
        .status(503)
        .type('text/plain')
        .send(`not ready: ${reasons.join('; ')}`);
  });
  app.get('/metrics', async (_req, res) => {
    res.type(metrics.registry.contentType).send(await metrics.registry.metrics());
  });

  const route = (webhook: 'mutate' | 'validate', handle: AdmissionHandler) => [
    express.raw({ type: () => true, limit }),
    async (req: Request, res: Response) => {
      const started = performance.now();
      const type = req.headers['content-type'] ?? '';
      let review: AdmissionRequest;
      try {
        if (!/^application\/json\b/i.test(type)) {
          throw new BadReviewError(
            `Content-Type must be application/json, not ${JSON.stringify(type)}`,
          );
        }
        const raw = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
        if (raw.length === 0)
          throw new BadReviewError('the request body is empty: expected an AdmissionReview');
        let body: unknown;
        try {
          body = JSON.parse(raw.toString('utf8'));
        } catch (err) {
          throw new BadReviewError(`the request body is not valid JSON: ${(err as Error).message}`);
        }
        review = parseAdmissionReview(body);
      } catch (err) {
        if (!(err instanceof BadReviewError)) throw err;
        metrics.badRequests.inc({ webhook });
        log.warn(
          { webhook, err: err.message, remote: req.socket.remoteAddress },
          'bad admission request',
        );
        status(res, 400, 'BadRequest', `${webhook}: ${err.message}`);
        return;
      }
      let outcome: HandlerOutcome;
      try {
        // Most verdicts are synchronous: no await, no extra turn of the microtask queue.
        const pending = handle(review);
        outcome = pending instanceof Promise ? await pending : pending;
      } catch (err) {
        // A bug, not a verdict: a 500 lets the configuration's failurePolicy
        // decide (Ignore for pods, Fail for claims).
        metrics.requests.inc({ webhook, operation: review.operation, result: 'error' });
        log.error(
          { webhook, uid: review.uid, err: (err as Error).stack ?? String(err) },
          'admission handler failed',
        );
        status(
          res,
          500,
          'InternalError',
          `${webhook}: internal error while reviewing ${review.uid}`,
        );
        return;
      }
      const result = resultLabel(outcome.decision);
      // Written directly, not through res.json: express's send would parse the
      // content type back and stringify the patch again on every request.
      const text = serializeReview(review.uid, outcome.decision);
      res.writeHead(200, {
        'Content-Type': 'application/json; charset=utf-8',
        'Content-Length': Buffer.byteLength(text),
      });
      res.end(text);
      const seconds = (performance.now() - started) / 1e3;
      metrics.requests.inc({ webhook, operation: review.operation, result });
      metrics.duration.observe({ webhook, operation: review.operation, result }, seconds);
      if (outcome.injected)
        metrics.injections.inc({ mode: opts.sidecarMode ?? 'unknown' }, outcome.injected);
      if (result === 'denied') metrics.rejections.inc({ reason: outcome.reason ?? 'invalid' });
      if (result === 'allowed' && !requestLog.isLevelEnabled('debug')) return;
      // One flat object per line (a spread would copy it once more).
      const line: Record<string, unknown> = {
        webhook,
        uid: review.uid,
        operation: review.operation,
        kind: review.kind.kind,
        namespace: review.namespace,
        name: review.name ?? review.object?.metadata?.generateName,
        dryRun: review.dryRun === true,
        result,
      };
      if (result === 'allowed') requestLog.debug(line, 'admitted');
      else if (result === 'patched') {
        line.injected = outcome.injected;
        requestLog.info(line, 'injected');
      } else {
        line.reason = outcome.reason;
        if (outcome.error) {
          line.err = outcome.error;
          requestLog.warn(line, 'denied');
        } else requestLog.info(line, 'denied');
      }
    },
  ];

  app.post(WEBHOOK_PATHS.mutatePods, ...route('mutate', opts.mutate));
  app.post(WEBHOOK_PATHS.validatePersistentVolumeClaims, ...route('validate', opts.validate));

  app.use((req, res) => {
    status(res, 404, 'NotFound', `no such path: ${req.method} ${req.path}`);
  });
  const onError: ErrorRequestHandler = (err, req, res, _next) => {
    const e = err as {
      type?: string;
      status?: number;
      length?: number;
      limit?: number;
      message?: string;
    };
    if (res.headersSent) return;
    if (e.type === 'entity.too.large') {
      metrics.badRequests.inc({ webhook: req.path.startsWith('/mutate') ? 'mutate' : 'validate' });
      log.warn({ path: req.path, length: e.length, limit: e.limit }, 'request body over the limit');
      status(res, 400, 'BadRequest', `the request body is over the limit of ${e.limit} bytes`);
      return;
    }
    if (e.status && e.status >= 400 && e.status < 500) {
      status(res, 400, 'BadRequest', `cannot read the request: ${e.message ?? 'bad request'}`);
      return;
    }
    log.error({ path: req.path, err: e.message }, 'request failed');
    status(res, 500, 'InternalError', 'internal error');
  };
  app.use(onError);
  return app;
}

export interface RunningServer {
  server: HttpsServer;
  port: number;
  close(): Promise<void>;
}

export async function listenTls(
  app: express.Express,
  tls: CertificateSource,
  opts: { port: number; host?: string },
): Promise<RunningServer> {
  const m = tls.current();
  const server = createServer({ key: m.keyPem, cert: m.certPem, minVersion: 'TLSv1.2' }, app);
  serveRotations(server, tls);
  // The apiserver keeps connections open (Go's idle timeout is 90 s); bound the
  // rest so a slow or silent client cannot hold a socket for long.
  server.keepAliveTimeout = 60_000;
  server.headersTimeout = 10_000;
  server.requestTimeout = 30_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host ?? '0.0.0.0', () => {
      server.off('error', reject);
      resolve();
    });
  });
  return {
    server,
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
