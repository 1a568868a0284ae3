// An in-memory API for the replicator's Kube door that records every call as
// the RBAC request it would be (verb, group, resource, namespace). It answers
// as the API server does where the replicator relies on it: lists filtered by
// namespace, label and field selectors, 404 as undefined on get, 409 on a
// create of an existing name, merge patches (RFC 7386) that null out keys and
// answer 409 on a stale resourceVersion, a deleted object that goes with its
// last finalizer.
import type { KubernetesObject } from '@kubernetes/client-node';
import { pino } from 'pino';
import type { Kube } from '../../../replicator/src/kube.ts';
import { replicatorMetrics } from '../../../replicator/src/metrics.ts';
import type { ReplicatorOptions } from '../../../replicator/src/run.ts';

export interface Request {
  verb: string;
  group: string;
  resource: string;
  namespace?: string;
  name?: string;
}

const RESOURCES: Record<string, string> = {
  PersistentVolumeClaim: 'persistentvolumeclaims',
  Pod: 'pods',
  Service: 'services',
  Event: 'events',
  Job: 'jobs',
  VolumeSnapshot: 'volumesnapshots',
  Lease: 'leases',
};

type Obj = KubernetesObject & Record<string, unknown>;

function groupOf(apiVersion: string): string {
  return apiVersion.includes('/') ? apiVersion.split('/')[0]! : '';
}

function mergePatch(target: unknown, patch: unknown): unknown {
  if (patch === null || typeof patch !== 'object' || Array.isArray(patch)) return patch;
  const out: Record<string, unknown> =
    target && typeof target === 'object' && !Array.isArray(target) ? { ...target } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

function matches(o: Obj, labelSelector?: string, fieldSelector?: string): boolean {
  for (const term of labelSelector?.split(',') ?? []) {
    const [k, v] = term.split('=');
    if (o.metadata?.labels?.[k!] !== v) return false;
  }
  for (const term of fieldSelector?.split(',') ?? []) {
    const [path, v] = term.split('=');
    let node: unknown = o;
    for (const p of path!.split('.')) node = (node as Record<string, unknown> | undefined)?.[p];
    if (node !== v) return false;
  }
  return true;
}

export function recordingKube(): {
  kube: Kube;
  requests: Request[];
  objects: Map<string, Obj>;
  put(o: Obj): void;
  /** Commands run in pods (quiesce hooks), in order. */
  execs: { namespace: string; pod: string; command: string[] }[];
} {
  const objects = new Map<string, Obj>();
  const requests: Request[] = [];
  const execs: { namespace: string; pod: string; command: string[] }[] = [];
  let generated = 0;
  const key = (apiVersion: string, kind: string, ns: string | undefined, name: string) =>
    `${groupOf(apiVersion)}/${kind}/${ns ?? ''}/${name}`;
  const keyOf = (o: KubernetesObject) =>
    key(o.apiVersion!, o.kind!, o.metadata?.namespace, o.metadata!.name!);
  const record = (
    verb: string,
    apiVersion: string,
    kind: string,
    namespace?: string,
    name?: string,
  ) => {
    const resource = RESOURCES[kind];
    if (!resource) throw new Error(`the replicator called ${verb} on ${kind}: add it to RESOURCES`);
    requests.push({ verb, group: groupOf(apiVersion), resource, namespace, name });
  };
  const conflict = (what: string) =>
    Object.assign(new Error(`${what} already exists`), { code: 409 });
  const put = (o: Obj) => {
    const copy = structuredClone(o);
    copy.metadata!.resourceVersion = String(++generated);
    objects.set(keyOf(o), copy);
  };

  const kube: Kube = {
    async list<T extends KubernetesObject>(
      apiVersion: string,
      kind: string,
      namespace?: string,
      labelSelector?: string,
      fieldSelector?: string,
    ) {
      record('list', apiVersion, kind, namespace);
      return [...objects.values()]
        .filter(
          (o) =>
            o.apiVersion === apiVersion &&
            o.kind === kind &&
            (namespace === undefined || o.metadata?.namespace === namespace) &&
            matches(o, labelSelector, fieldSelector),
        )
        .map((o) => structuredClone(o) as unknown as T);
    },
    async get<T extends KubernetesObject>(
      apiVersion: string,
      kind: string,
      namespace: string,
      name: string,
    ) {
      record('get', apiVersion, kind, namespace, name);
      const o = objects.get(key(apiVersion, kind, namespace, name));
      return o ? (structuredClone(o) as unknown as T) : undefined;
    },
    async create<T extends KubernetesObject>(obj: T) {
      record('create', obj.apiVersion!, obj.kind!, obj.metadata?.namespace);
      const o = structuredClone(obj) as unknown as Obj;
      if (!o.metadata!.name && o.metadata!.generateName)
        o.metadata!.name = `${o.metadata!.generateName}${++generated}`;
      if (objects.has(keyOf(o))) throw conflict(keyOf(o));
      o.metadata!.uid = `uid-${++generated}`;
      o.metadata!.resourceVersion = String(generated);
      objects.set(keyOf(o), o);
      return structuredClone(o) as unknown as T;
    },
    async mergePatch<T extends KubernetesObject>(obj: T, patch: object) {
      record('patch', obj.apiVersion!, obj.kind!, obj.metadata?.namespace, obj.metadata?.name);
      const current = objects.get(keyOf(obj));
      if (!current) throw Object.assign(new Error(`${keyOf(obj)} not found`), { code: 404 });
      const rv = (patch as { metadata?: { resourceVersion?: string } }).metadata?.resourceVersion;
      if (rv !== undefined && rv !== current.metadata?.resourceVersion)
        throw conflict(`${keyOf(obj)} at resourceVersion ${rv}`);
      const next = mergePatch(current, patch) as Obj;
      next.metadata!.resourceVersion = String(++generated);
      // A deleted object goes once its last finalizer does.
      if (next.metadata?.deletionTimestamp && !next.metadata.finalizers?.length)
        objects.delete(keyOf(obj));
      else objects.set(keyOf(obj), next);
      return structuredClone(next) as unknown as T;
    },
    async delete(obj: KubernetesObject) {
      record('delete', obj.apiVersion!, obj.kind!, obj.metadata?.namespace, obj.metadata?.name);
      objects.delete(keyOf(obj));
    },
    async podLog(namespace: string) {
      requests.push({ verb: 'get', group: '', resource: 'pods/log', namespace });
      return '{"result":"succeeded","wireBytes":1234,"files":3}\n';
    },
    async exec(namespace: string, pod: string, _container: string, command: string[]) {
      // A WebSocket exec is an HTTP GET: kube-apiserver authorizes it as `get`
      // before 1.35 and asks for `create` as well from 1.35.
      for (const verb of ['get', 'create'])
        requests.push({ verb, group: '', resource: 'pods/exec', namespace, name: pod });
      execs.push({ namespace, pod, command });
      return { kind: 'exited' as const, exitCode: 0, stderr: '' };
    },
  };
  return { kube, requests, objects, put, execs };
}

/** Options for driving the replicator against an in-memory API one pass at a time. */
export function passOptions(kube: Kube, over: Partial<ReplicatorOptions> = {}): ReplicatorOptions {
  return {
    kube,
    log: pino({ enabled: false }),
    metrics: replicatorMetrics(),
    namespace: 'scribe-system',
    identity: 'r',
    intervalMs: 1,
    leaseSeconds: 15,
    copyTimeoutSeconds: 60,
    now: () => new Date('2026-01-01T00:00:10Z'),
    ...over,
  };
}
