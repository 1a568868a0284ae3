// The HTTP edge: authentication, routing of Kubernetes REST paths, reads
// (get, list, watch, log) and the dispatch of writes to the registry. Every
// answer is JSON ending in a newline, errors are v1 Status objects.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { V1DeleteOptions } from '@kubernetes/client-node';
import { parse as parseYaml } from 'yaml';
import { ApiError, type KubeObject } from './admission-seam.ts';
import { allowed, ANONYMOUS, authenticate, type Tokens, type UserInfo } from './auth.ts';
import {
  apiGroupDocument,
  apiGroupListDocument,
  apiVersionsDocument,
  resourceListDocument,
  versionDocument,
  type VersionInfo,
} from './discovery.ts';
import {
  EXEC_PROTOCOLS,
  execContainer,
  parseExecOptions,
  runExecSession,
  type PodExec,
} from './exec.ts';
import { groupVersionDocument, rootDocument } from './openapi.ts';
import { decodeProtobufObject } from './protobuf.ts';
import type { Registry, WriteContext } from './registry.ts';
import { apiVersionOf, findResource, resourceKey, type ResourceType } from './resources.ts';
import {
  matchFields,
  matchLabels,
  parseFieldSelector,
  parseLabelSelector,
  type FieldRequirement,
  type LabelSelector,
} from './selectors.ts';
import {
  badRequest,
  continueExpired,
  forbiddenPath,
  forbiddenRequest,
  invalid,
  invalidValue,
  listExpired,
  methodNotAllowed,
  notFound,
  unauthorized,
  watchExpired,
} from './status-errors.ts';
import { rbacAllows } from './rbac.ts';
import type { Store, StoredEvent } from './store.ts';
import { toTable, wantsTable, type IncludeObject } from './table.ts';
import { acceptWebSocket, chooseProtocol, isWebSocketUpgrade, refuseUpgrade } from './websocket.ts';
import type { Duplex } from 'node:stream';
import { STATUS_CODES } from 'node:http';
import type { V1Pod } from '@kubernetes/client-node';

export interface HttpDeps {
  store: Store;
  registry: Registry;
  tokens: Tokens;
  version: VersionInfo;
  serverAddress: () => string;
  podLogs?: (ns: string, pod: string, container?: string) => Promise<string>;
  /** Runs pods/exec commands (the kubelet's part); without it an exec is a 400. */
  podExec?: PodExec;
  /** How often a watch that allows bookmarks gets one. */
  bookmarkIntervalMs: number;
  /** API groups this cluster does not serve (CRDs not installed): 404 everywhere. */
  unservedGroups?: readonly string[];
}

/** A parsed resource path: /api/v1/namespaces/ns/pods/name/status and its relatives. */
export interface ResourcePath {
  rt: ResourceType;
  namespace?: string;
  name?: string;
  subresource?: string;
}

/** undefined: not a resource path we serve (the server answers 404 page not found). */
export function parseResourcePath(path: string): ResourcePath | undefined {
  const segs = path
    .split('/')
    .filter((s) => s !== '')
    .map(decodeURIComponent);
  let group: string;
  let version: string;
  let rest: string[];
  if (segs[0] === 'api' && segs.length >= 3) {
    group = '';
    version = segs[1]!;
    rest = segs.slice(2);
  } else if (segs[0] === 'apis' && segs.length >= 4) {
    group = segs[1]!;
    version = segs[2]!;
    rest = segs.slice(3);
  } else return undefined;
  let namespace: string | undefined;
  if (
    rest[0] === 'namespaces' &&
    rest.length >= 3 &&
    findResource(group, version, rest[2]!)?.namespaced
  ) {
    namespace = rest[1];
    rest = rest.slice(2);
  }
  const rt = findResource(group, version, rest[0]!);
  if (!rt || rest.length > 3) return undefined;
  if (rt.namespaced && namespace === undefined && rest.length > 1) return undefined;
  if (!rt.namespaced && namespace !== undefined) return undefined;
  const p: ResourcePath = { rt };
  if (namespace !== undefined) p.namespace = namespace;
  if (rest[1] !== undefined) p.name = rest[1];
  if (rest[2] !== undefined) {
    const sub = rest[2];
    const podSub = (sub === 'log' || sub === 'exec') && rt.log;
    if (!((sub === 'status' && rt.status) || podSub)) return undefined;
    p.subresource = sub;
  }
  return p;
}

function send(res: ServerResponse, code: number, body: unknown, warnings: string[] = []): void {
  const text = `${JSON.stringify(body)}\n`;
  if (warnings.length > 0) res.setHeader('Warning', warnings.map(warningHeader));
  res.writeHead(code, {
    'Content-Type': 'application/json',
    'Cache-Control': 'no-cache, private',
    'Content-Length': Buffer.byteLength(text),
  });
  res.end(text);
}

/** RFC 7234 warning with code 299, the way the apiserver quotes admission warnings. */
export function warningHeader(message: string): string {
  return `299 - ${JSON.stringify(message.replace(/[\r\n]+/g, ' '))}`;
}

function sendText(res: ServerResponse, code: number, text: string): void {
  res.writeHead(code, {
    'Content-Type': 'text/plain; charset=utf-8',
    'X-Content-Type-Options': 'nosniff',
    'Content-Length': Buffer.byteLength(text),
  });
  res.end(text);
}

function sendError(res: ServerResponse, e: unknown): void {
  if (e instanceof ApiError) {
    send(res, e.code, e.status);
    return;
  }
  const message = e instanceof Error ? e.message : String(e);
  send(res, 500, {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    message: `Internal error occurred: ${message}`,
    reason: 'InternalError',
    details: { causes: [{ message }] },
    code: 500,
  });
}

async function readBytes(req: IncomingMessage, limit = 3 * 1024 * 1024): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of req) {
    const b = c as Buffer;
    size += b.length;
    if (size > limit)
      throw new ApiError({
        kind: 'Status',
        apiVersion: 'v1',
        metadata: {},
        status: 'Failure',
        message: 'Request entity too large: limit is 3145728',
        reason: 'RequestEntityTooLarge',
        code: 413,
      });
    chunks.push(b);
  }
  return Buffer.concat(chunks);
}

async function readBody(req: IncomingMessage): Promise<string> {
  return (await readBytes(req)).toString('utf8');
}

function decodeObject(bytes: Buffer, contentType: string | undefined): KubeObject {
  const ct = (contentType ?? 'application/json').split(';')[0]!.trim().toLowerCase();
  const body = bytes.toString('utf8');
  let v: unknown;
  try {
    if (ct === 'application/json' || ct === '') v = JSON.parse(body);
    else if (ct === 'application/yaml') v = parseYaml(body);
    else if (ct === 'application/vnd.kubernetes.protobuf') v = decodeProtobufObject(bytes);
    else {
      throw new ApiError({
        kind: 'Status',
        apiVersion: 'v1',
        metadata: {},
        status: 'Failure',
        message: `the body of the request was in an unknown format - accepted media types include: application/json, application/yaml, application/vnd.kubernetes.protobuf`,
        reason: 'UnsupportedMediaType',
        details: {},
        code: 415,
      });
    }
  } catch (e) {
    if (e instanceof ApiError) throw e;
    throw badRequest(`couldn't get version/kind; json parse error: ${(e as Error).message}`);
  }
  if (v === null || typeof v !== 'object' || Array.isArray(v)) {
    throw badRequest("couldn't get version/kind; json parse error: the body is not a JSON object");
  }
  return v as KubeObject;
}

function decodeDeleteOptions(body: string, q: URLSearchParams): V1DeleteOptions {
  let opts: V1DeleteOptions = {};
  if (body.trim() !== '') {
    try {
      opts = JSON.parse(body) as V1DeleteOptions;
    } catch (e) {
      throw badRequest(`couldn't get version/kind; json parse error: ${(e as Error).message}`);
    }
  }
  const pp = q.get('propagationPolicy');
  if (pp) opts.propagationPolicy = pp;
  const gp = q.get('gracePeriodSeconds');
  if (gp !== null) opts.gracePeriodSeconds = Number(gp);
  const od = q.get('orphanDependents');
  if (od !== null) opts.orphanDependents = od === 'true';
  if (
    opts.propagationPolicy &&
    !['Foreground', 'Background', 'Orphan'].includes(opts.propagationPolicy)
  ) {
    throw badRequest(
      `DeleteOptions.meta.k8s.io "" is invalid: propagationPolicy: Unsupported value: "${opts.propagationPolicy}": supported values: "Foreground", "Background", "Orphan", "nil"`,
    );
  }
  return opts;
}

/** Built-in kinds' lists carry items without kind/apiVersion; custom resources keep them. */
function listItem(rt: ResourceType, o: KubeObject): KubeObject {
  if (rt.group === 'snapshot.storage.k8s.io') return o;
  const rest: Record<string, unknown> = { ...o };
  delete rest.kind;
  delete rest.apiVersion;
  return rest as KubeObject;
}

interface Filter {
  namespace?: string;
  labels: LabelSelector;
  fields: FieldRequirement[];
}

function matches(f: Filter, o: KubeObject): boolean {
  if (f.namespace !== undefined && o.metadata?.namespace !== f.namespace) return false;
  return matchLabels(f.labels, o.metadata?.labels) && matchFields(f.fields, o);
}

function verbOf(method: string, p: ResourcePath, q: URLSearchParams): string {
  const watch = q.get('watch');
  switch (method) {
    case 'GET':
      if (p.name) return 'get';
      return watch === '1' || watch === 'true' ? 'watch' : 'list';
    case 'POST':
      return 'create';
    case 'PUT':
      return 'update';
    case 'PATCH':
      return 'patch';
    case 'DELETE':
      return p.name ? 'delete' : 'deletecollection';
    default:
      return method.toLowerCase();
  }
}

interface ContinueToken {
  rv: number;
  start: string;
}

function encodeContinue(t: ContinueToken): string {
  return Buffer.from(JSON.stringify({ v: 'meta.k8s.io/v1', rv: t.rv, start: t.start })).toString(
    'base64url',
  );
}

function decodeContinue(s: string): ContinueToken {
  try {
    const v = JSON.parse(Buffer.from(s, 'base64url').toString('utf8')) as {
      rv?: number;
      start?: string;
    };
    if (typeof v.rv !== 'number' || typeof v.start !== 'string') throw new Error('bad token');
    return { rv: v.rv, start: v.start };
  } catch {
    throw badRequest(
      'continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)',
    );
  }
}

/**
 * `kubectl auth can-i`: what the stand-in's authorizer (auth.ts) would decide
 * for the asking user. Every user may ask (system:basic-user); the review is
 * not stored.
 */
export function selfSubjectAccessReview(
  user: UserInfo,
  body: Buffer,
  contentType: string | undefined,
): object {
  // kubectl auth can-i sends protobuf; other clients JSON.
  const review = decodeObject(body, contentType) as {
    spec?: { resourceAttributes?: { verb?: string } };
  };
  const verb = review.spec?.resourceAttributes?.verb;
  if (!verb) throw badRequest('spec.resourceAttributes.verb: Required value');
  const yes = allowed(user, verb);
  return {
    kind: 'SelfSubjectAccessReview',
    apiVersion: 'authorization.k8s.io/v1',
    metadata: { creationTimestamp: null },
    spec: review.spec,
    status: yes
      ? {
          allowed: true,
          reason: user.groups.includes('system:masters') ? 'system:masters' : 'read-only user',
        }
      : { allowed: false },
  };
}

/**
 * A SubjectAccessReview (what a webhook asks about its requester): the
 * stand-in's authorizer for the given user and groups (system:masters: all;
 * any other authenticated user: get, list, watch), then the stored RBAC
 * (rbac.ts). Not stored, like the real one.
 */
export function subjectAccessReview(store: Store, body: string): object {
  type Spec = {
    user?: string;
    groups?: string[];
    resourceAttributes?: {
      namespace?: string;
      verb?: string;
      group?: string;
      resource?: string;
      subresource?: string;
      name?: string;
    };
  };
  let review: { spec?: Spec } = {};
  try {
    review = JSON.parse(body) as typeof review;
  } catch {
    throw badRequest('the SubjectAccessReview is not valid JSON');
  }
  const spec = review.spec ?? {};
  const a = spec.resourceAttributes;
  if (!spec.user && !spec.groups?.length)
    throw invalid('authorization.k8s.io', 'SubjectAccessReview', '', [
      invalidValue('spec.user', '', 'at least one of user or group must be specified'),
    ]);
  if (!a?.verb) throw badRequest('spec.resourceAttributes.verb: Required value');
  const user: UserInfo = { username: spec.user ?? '', groups: spec.groups ?? [] };
  const base = allowed(user, a.verb);
  const rbac =
    !base &&
    rbacAllows(store, {
      user: user.username,
      groups: user.groups,
      namespace: a.namespace || undefined,
      verb: a.verb,
      group: a.group ?? '',
      resource: a.resource ?? '',
      subresource: a.subresource || undefined,
      name: a.name || undefined,
    });
  return {
    kind: 'SubjectAccessReview',
    apiVersion: 'authorization.k8s.io/v1',
    metadata: { creationTimestamp: null },
    spec: review.spec,
    status: base
      ? {
          allowed: true,
          reason: user.groups.includes('system:masters') ? 'system:masters' : 'read-only user',
        }
      : rbac
        ? { allowed: true, reason: 'RBAC: allowed by a stored role binding' }
        : { allowed: false },
  };
}

export interface Handler {
  handle: (req: IncomingMessage, res: ServerResponse) => void;
  /** HTTP upgrades: pods/exec over WebSocket; anything else is refused. */
  upgrade: (req: IncomingMessage, socket: Duplex, head: Buffer) => void;
  /** Ends every open watch stream (server shutdown). */
  closeWatches: () => void;
}

export function createHandler(deps: HttpDeps): Handler {
  const { store, registry } = deps;
  const openWatches = new Set<ServerResponse>();
  const upgraded = new Set<Duplex>();

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'https://stand-in');
    const path = url.pathname.replace(/\/+$/, '') || '/';
    const q = url.searchParams;
    const method = req.method ?? 'GET';
    if (path === '/version' && method === 'GET')
      return send(res, 200, versionDocument(deps.version));
    if (['/healthz', '/livez', '/readyz'].includes(path)) return sendText(res, 200, 'ok');

    const user = authenticate(req.headers.authorization, deps.tokens);
    if (!user) return sendError(res, unauthorized());

    // A group whose CRDs are not installed: kube-apiserver has no route for it.
    const group = /^\/apis\/([^/]+)/.exec(path)?.[1];
    if (group && deps.unservedGroups?.includes(group)) {
      return sendText(res, 404, '404 page not found\n');
    }

    if (path === '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews' && method === 'POST') {
      // system:basic-user lets every authenticated user ask; anonymous is refused.
      if (user === ANONYMOUS) {
        return sendError(
          res,
          forbiddenRequest(
            user.username,
            'create',
            'authorization.k8s.io',
            'selfsubjectaccessreviews',
            undefined,
            undefined,
          ),
        );
      }
      return send(
        res,
        201,
        selfSubjectAccessReview(user, await readBytes(req), req.headers['content-type']),
      );
    }

    if (path === '/apis/authorization.k8s.io/v1/subjectaccessreviews' && method === 'POST') {
      // Only who may create subjectaccessreviews (the admin token) may ask about others.
      if (!allowed(user, 'create')) {
        return sendError(
          res,
          forbiddenRequest(
            user.username,
            'create',
            'authorization.k8s.io',
            'subjectaccessreviews',
            undefined,
            undefined,
          ),
        );
      }
      return send(res, 201, subjectAccessReview(store, await readBody(req)));
    }

    if (
      method === 'GET' &&
      (path === '/api' || path === '/apis' || /^\/apis?\/[^/]+(\/v1)?$/.test(path))
    ) {
      if (!allowed(user, 'get')) return sendError(res, forbiddenPath(user.username, path));
      // Aggregated discovery is asked for first; answering the legacy documents as
      // application/json is what 1.24 does, and kubectl falls back to them.
      let doc: object | undefined;
      if (path === '/api') doc = apiVersionsDocument(deps.serverAddress());
      else if (path === '/apis') doc = apiGroupListDocument(deps.unservedGroups);
      else if (path === '/api/v1') doc = resourceListDocument('', 'v1');
      else {
        const [, , g, v] = path.split('/');
        doc = v ? resourceListDocument(g!, v) : apiGroupDocument(g!);
      }
      if (!doc) return sendText(res, 404, '404 page not found\n');
      return send(res, 200, doc);
    }

    if (method === 'GET' && path.startsWith('/openapi/v3')) {
      if (!allowed(user, 'get')) return sendError(res, forbiddenPath(user.username, path));
      const doc =
        path === '/openapi/v3'
          ? rootDocument()
          : groupVersionDocument(path.slice('/openapi/v3/'.length));
      if (!doc) return sendText(res, 404, '404 page not found\n');
      return send(res, 200, doc);
    }

    const p = parseResourcePath(path);
    if (!p) return sendText(res, 404, '404 page not found\n');
    if (p.subresource === 'exec') {
      // Only an upgraded connection carries an exec; checks come first, as in the apiserver.
      execTarget(user, p, q);
      throw badRequest('Upgrade request required');
    }
    const verb = verbOf(method, p, q);
    const authzResource = p.subresource ? `${p.rt.resource}/${p.subresource}` : p.rt.resource;
    if (!allowed(user, verb)) {
      throw forbiddenRequest(user.username, verb, p.rt.group, authzResource, p.namespace, p.name);
    }
    const ctx = writeContext(user, req, q);
    const { rt } = p;
    switch (verb) {
      case 'get':
        if (p.subresource === 'log') return serveLog(res, p, q);
        return serveGet(req, res, p, q);
      case 'list':
        return serveList(req, res, p, q);
      case 'watch':
        return serveWatch(req, res, p, q);
      case 'create': {
        if (p.name) throw methodNotAllowed();
        const obj = decodeObject(await readBytes(req), req.headers['content-type']);
        const r = await registry.create(rt, p.namespace, obj, ctx);
        return send(res, r.code, r.body, r.warnings);
      }
      case 'update': {
        const obj = decodeObject(await readBytes(req), req.headers['content-type']);
        const r = await registry.update(rt, p.namespace, p.name!, obj, ctx, p.subresource);
        return send(res, r.code, r.body, r.warnings);
      }
      case 'patch': {
        if (!p.name) throw methodNotAllowed();
        const body = await readBody(req);
        const r = await registry.patch(
          rt,
          p.namespace,
          p.name,
          body,
          req.headers['content-type'],
          ctx,
          p.subresource,
        );
        return send(res, r.code, r.body, r.warnings);
      }
      case 'delete': {
        const opts = decodeDeleteOptions(await readBody(req), q);
        if (opts.dryRun?.includes('All')) ctx.dryRun = true;
        const r = await registry.delete(rt, p.namespace, p.name!, opts, ctx);
        return send(res, r.code, r.body, r.warnings);
      }
      case 'deletecollection': {
        const opts = decodeDeleteOptions(await readBody(req), q);
        const f = filterOf(p, q);
        const objects = store.list(resourceKey(rt), p.namespace).filter((o) => matches(f, o));
        const r = await registry.deleteCollection(rt, objects, opts, ctx);
        return send(res, r.code, r.body, r.warnings);
      }
      default:
        throw methodNotAllowed();
    }
  }

  /**
   * Authorizes and checks a pods/exec request: the pod, its container and
   * the options. kube-apiserver before 1.35 authorizes a WebSocket exec (a
   * GET) as `get`; the stand-in asks for `create` for every exec, as 1.35
   * does for WebSockets and every version for SPDY's POST.
   */
  function execTarget(
    user: UserInfo,
    p: ResourcePath,
    q: URLSearchParams,
  ): { pod: V1Pod; container: string; options: ReturnType<typeof parseExecOptions> } {
    if (!allowed(user, 'create')) {
      throw forbiddenRequest(user.username, 'create', '', 'pods', p.namespace, p.name, 'exec');
    }
    const pod = store.get(resourceKey(p.rt), p.namespace, p.name!) as V1Pod | undefined;
    if (!pod) throw notFound(p.rt.group, p.rt.resource, p.name!);
    const options = parseExecOptions(q);
    return { pod, container: execContainer(pod, options.container), options };
  }

  async function upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    const url = new URL(req.url ?? '/', 'https://stand-in');
    const path = url.pathname.replace(/\/+$/, '') || '/';
    const user = authenticate(req.headers.authorization, deps.tokens);
    if (!user) throw unauthorized();
    const p = parseResourcePath(path);
    if (!p || p.subresource !== 'exec' || !p.name) {
      return refuseUpgrade(socket, 404, 'Not Found', '404 page not found\n');
    }
    const target = execTarget(user, p, url.searchParams);
    if (!deps.podExec) throw badRequest('this stand-in runs no kubelet that could exec');
    const request = {
      ...target.options,
      namespace: p.namespace!,
      pod: p.name!,
      container: target.container,
    };
    if (!isWebSocketUpgrade(req)) {
      // kubectl falls back to SPDY when the WebSocket upgrade is refused: the kubelet's reason comes first.
      await deps.podExec({ ...request, dryRun: true });
      throw badRequest(
        `the stand-in serves pods/exec over WebSocket only, not ${String(req.headers.upgrade)}`,
      );
    }
    const protocol = chooseProtocol(
      req.headers['sec-websocket-protocol'] as string | undefined,
      EXEC_PROTOCOLS,
    );
    if (protocol === undefined || !req.headers['sec-websocket-key']) {
      throw badRequest(
        `unable to upgrade: none of the offered subprotocols is served (${EXEC_PROTOCOLS.join(', ')})`,
      );
    }
    // The kubelet refuses (container not running) before the handshake, as a proxied upgrade does.
    const proc = await deps.podExec(request);
    await runExecSession(
      acceptWebSocket(req, socket, head, protocol),
      proc,
      target.options.command,
    );
  }

  function writeContext(user: UserInfo, req: IncomingMessage, q: URLSearchParams): WriteContext {
    const dryRun = q.getAll('dryRun');
    if (dryRun.some((d) => d !== 'All')) {
      throw badRequest(
        `dryRun: Unsupported value: ${JSON.stringify(dryRun.find((d) => d !== 'All'))}: supported values: "All"`,
      );
    }
    const ctx: WriteContext = { user, dryRun: dryRun.includes('All') };
    const ua = req.headers['user-agent'];
    if (ua) ctx.userAgent = ua;
    const fm = q.get('fieldManager');
    if (fm) ctx.fieldManager = fm;
    const fv = q.get('fieldValidation');
    if (fv) ctx.fieldValidation = fv;
    if (q.get('force') === 'true') ctx.force = true;
    return ctx;
  }

  function filterOf(p: ResourcePath, q: URLSearchParams): Filter {
    const f: Filter = {
      labels: parseLabelSelector(q.get('labelSelector') ?? undefined),
      fields: parseFieldSelector(q.get('fieldSelector') ?? undefined, p.rt.resource),
    };
    if (p.namespace !== undefined) f.namespace = p.namespace;
    return f;
  }

  function includeObject(q: URLSearchParams): IncludeObject {
    const v = q.get('includeObject');
    return v === 'None' || v === 'Object' ? v : 'Metadata';
  }

  function serveGet(
    req: IncomingMessage,
    res: ServerResponse,
    p: ResourcePath,
    q: URLSearchParams,
  ): void {
    const o = store.get(resourceKey(p.rt), p.namespace, p.name!);
    if (!o) throw notFound(p.rt.group, p.rt.resource, p.name!);
    if (wantsTable(req.headers.accept)) {
      return send(
        res,
        200,
        toTable(p.rt, [o], { resourceVersion: o.metadata!.resourceVersion }, includeObject(q)),
      );
    }
    send(res, 200, o);
  }

  async function serveLog(res: ServerResponse, p: ResourcePath, q: URLSearchParams): Promise<void> {
    const pod = store.get(resourceKey(p.rt), p.namespace, p.name!);
    if (!pod) throw notFound(p.rt.group, p.rt.resource, p.name!);
    const container = q.get('container') ?? undefined;
    const text = deps.podLogs ? await deps.podLogs(p.namespace!, p.name!, container) : '';
    sendText(res, 200, text);
  }

  function serveList(
    req: IncomingMessage,
    res: ServerResponse,
    p: ResourcePath,
    q: URLSearchParams,
  ): void {
    const f = filterOf(p, q);
    const rvParam = q.get('resourceVersion');
    if (
      q.get('resourceVersionMatch') === 'Exact' &&
      rvParam &&
      Number(rvParam) < store.oldestWatchable
    ) {
      throw listExpired();
    }
    let items = store.list(resourceKey(p.rt), p.namespace).filter((o) => matches(f, o));
    const rv = store.resourceVersion;
    const meta: Record<string, unknown> = { resourceVersion: String(rv) };
    // etcd keys within the listed prefix: the name inside a namespace, ns/name across them.
    const keyOf = (o: KubeObject): string =>
      p.namespace !== undefined
        ? o.metadata!.name!
        : `${o.metadata!.namespace ?? ''}/${o.metadata!.name}`;
    const cont = q.get('continue');
    if (cont) {
      const t = decodeContinue(cont);
      if (t.rv !== -1 && t.rv < store.oldestWatchable) {
        throw continueExpired(encodeContinue({ rv: -1, start: t.start }));
      }
      items = items.filter((o) => keyOf(o) >= t.start);
    }
    const limit = Number(q.get('limit') ?? 0);
    if (limit > 0 && items.length > limit) {
      // The token starts right after the last key returned, as the apiserver's does.
      meta.continue = encodeContinue({ rv, start: `${keyOf(items[limit - 1]!)}\u0000` });
      meta.remainingItemCount = items.length - limit;
      items = items.slice(0, limit);
    }
    if (wantsTable(req.headers.accept))
      return send(res, 200, toTable(p.rt, items, meta, includeObject(q)));
    send(res, 200, {
      kind: p.rt.listKind,
      apiVersion: apiVersionOf(p.rt),
      metadata: meta,
      items: items.map((o) => listItem(p.rt, o)),
    });
  }

  function serveWatch(
    req: IncomingMessage,
    res: ServerResponse,
    p: ResourcePath,
    q: URLSearchParams,
  ): void {
    const f = filterOf(p, q);
    const key = resourceKey(p.rt);
    const table = wantsTable(req.headers.accept);
    const include = includeObject(q);
    const rvParam = q.get('resourceVersion');
    const bookmarks = q.get('allowWatchBookmarks') === 'true';
    const requested = Number(q.get('timeoutSeconds') ?? 1800);
    // An unparsable or non-positive timeout means the server's default, not "end now".
    const timeoutSeconds =
      Number.isFinite(requested) && requested > 0 ? Math.min(requested, 3600) : 1800;
    res.writeHead(200, {
      'Content-Type': 'application/json',
      'Cache-Control': 'no-cache, private',
      'Transfer-Encoding': 'chunked',
    });
    res.flushHeaders();
    openWatches.add(res);
    const write = (type: string, object: unknown): void => {
      res.write(`${JSON.stringify({ type, object })}\n`);
    };
    const render = (o: KubeObject): unknown =>
      table ? toTable(p.rt, [o], { resourceVersion: o.metadata!.resourceVersion }, include) : o;
    let lastRv = store.resourceVersion;
    const deliver = (e: StoredEvent): void => {
      if (e.resource !== key) return;
      lastRv = e.rv;
      const now = matches(f, e.object);
      const before = e.previous ? matches(f, e.previous) : false;
      if (e.type === 'MODIFIED') {
        if (now && before) write('MODIFIED', render(e.object));
        else if (now) write('ADDED', render(e.object));
        else if (before) write('DELETED', render(e.object));
      } else if (now) write(e.type, render(e.object));
    };
    let ended = false;
    const timers: NodeJS.Timeout[] = [];
    const end = (): void => {
      if (ended) return;
      ended = true;
      unsubscribe();
      for (const t of timers) clearTimeout(t);
      openWatches.delete(res);
      res.end();
    };
    const bookmark = (): void => {
      write('BOOKMARK', {
        kind: p.rt.kind,
        apiVersion: apiVersionOf(p.rt),
        metadata: { resourceVersion: String(lastRv), creationTimestamp: null },
      });
    };
    let unsubscribe: () => void = () => undefined;
    if (rvParam && rvParam !== '0') {
      const from = Number(rvParam);
      if (!Number.isInteger(from) || from < 0) {
        write('ERROR', badRequest(`invalid resource version: ${rvParam}`).status);
        return end();
      }
      const replay = store.since(from);
      if (!replay) {
        write('ERROR', watchExpired(from, store.oldestWatchable).status);
        return end();
      }
      for (const e of replay) deliver(e);
    } else {
      for (const o of store.list(key, f.namespace).filter((o) => matches(f, o)))
        write('ADDED', render(o));
    }
    lastRv = store.resourceVersion;
    unsubscribe = store.subscribe(deliver);
    if (bookmarks) {
      const tick = (): void => {
        bookmark();
        timers.push(setTimeout(tick, deps.bookmarkIntervalMs));
      };
      timers.push(setTimeout(tick, deps.bookmarkIntervalMs));
    }
    timers.push(
      setTimeout(() => {
        if (bookmarks) bookmark();
        end();
      }, timeoutSeconds * 1000),
    );
    req.on('close', end);
    res.on('close', end);
  }

  const handler = (req: IncomingMessage, res: ServerResponse): void => {
    handle(req, res).catch((e: unknown) => {
      if (res.headersSent) {
        res.destroy();
        return;
      }
      sendError(res, e);
    });
  };
  return {
    handle: handler,
    upgrade: (req, socket, head) => {
      socket.on('error', () => undefined);
      upgraded.add(socket);
      socket.once('close', () => upgraded.delete(socket));
      upgrade(req, socket, head).catch((e: unknown) => {
        const status =
          e instanceof ApiError
            ? e.status
            : {
                kind: 'Status',
                apiVersion: 'v1',
                status: 'Failure',
                code: 500,
                message: String(e),
              };
        const code = status.code ?? 500;
        refuseUpgrade(socket, code, STATUS_CODES[code] ?? '', `${JSON.stringify(status)}\n`);
      });
    },
    closeWatches: () => {
      for (const r of [...openWatches]) r.end();
      openWatches.clear();
      for (const s of [...upgraded]) s.destroy();
    },
  };
}
