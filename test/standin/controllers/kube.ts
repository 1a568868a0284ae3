// The controllers' edge to the API server: typed clients from a kubeconfig,
// patch content types, Status errors, informers that reconnect, and a work
// queue. Everything goes over HTTP(S) like a real controller's traffic.

import {
  ApiException,
  AppsV1Api,
  BatchV1Api,
  CoreV1Api,
  CustomObjectsApi,
  KubeConfig,
  PatchStrategy,
  StorageV1Api,
  makeInformer,
  setHeaderOptions,
  type Informer,
  type KubernetesListObject,
  type KubernetesObject,
  type ObjectCache,
} from '@kubernetes/client-node';

export interface Clients {
  kc: KubeConfig;
  core: CoreV1Api;
  apps: AppsV1Api;
  batch: BatchV1Api;
  storage: StorageV1Api;
  custom: CustomObjectsApi;
}

/** A kubeconfig as a file's text or as its parsed object (clusters/users/contexts as in the file). */
export type KubeconfigInput = string | object;

export function makeClients(kubeconfig: KubeconfigInput, context?: string): Clients {
  const kc = new KubeConfig();
  kc.loadFromString(typeof kubeconfig === 'string' ? kubeconfig : JSON.stringify(kubeconfig));
  if (context !== undefined) kc.setCurrentContext(context);
  return {
    kc,
    core: kc.makeApiClient(CoreV1Api),
    apps: kc.makeApiClient(AppsV1Api),
    batch: kc.makeApiClient(BatchV1Api),
    storage: kc.makeApiClient(StorageV1Api),
    custom: kc.makeApiClient(CustomObjectsApi),
  };
}

/** Request options for PATCH: the client's default content type is JSON patch; we mostly send merge patches. */
export const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
export const jsonPatch = setHeaderOptions('Content-Type', PatchStrategy.JsonPatch);

export interface StatusError {
  code: number;
  reason: string;
  message: string;
}

/** The API's Status (code, reason, message) from a client error, or undefined for non-HTTP failures. */
export function statusOf(err: unknown): StatusError | undefined {
  if (!(err instanceof ApiException)) return undefined;
  let body: unknown = err.body;
  if (typeof body === 'string') {
    try {
      body = JSON.parse(body);
    } catch {
      // not JSON: keep the text as the message
    }
  }
  const b = (typeof body === 'object' && body !== null ? body : {}) as Record<string, unknown>;
  return {
    code: err.code,
    reason: typeof b.reason === 'string' ? b.reason : '',
    message: typeof b.message === 'string' ? b.message : String(err.body ?? err.message),
  };
}

export const isNotFound = (err: unknown): boolean => statusOf(err)?.code === 404;
export const isConflict = (err: unknown): boolean => statusOf(err)?.code === 409;
export const isAlreadyExists = (err: unknown): boolean =>
  statusOf(err)?.code === 409 && statusOf(err)?.reason === 'AlreadyExists';

export function describeError(err: unknown): string {
  const s = statusOf(err);
  if (s !== undefined) return `${s.code} ${s.reason}: ${s.message}`;
  return err instanceof Error ? err.message : String(err);
}

export type Cache<T> = ObjectCache<T> & { stop(): Promise<void> };

/**
 * List+watch of one resource path. The client's informer stops on a watch
 * error other than 410; like client-go's reflector, this one starts again
 * after a short pause, so a restarted API server is picked up.
 */
export async function watchResource<T extends KubernetesObject>(
  kc: KubeConfig,
  path: string,
  list: () => Promise<KubernetesListObject<T>>,
  onChange: (obj: T, verb: 'add' | 'update' | 'delete') => void,
  log: (msg: string) => void,
): Promise<Cache<T>> {
  const informer: Informer<T> & ObjectCache<T> = makeInformer(kc, path, list);
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let failures = 0;
  const handle = (verb: 'add' | 'update' | 'delete') => (o: T) => {
    failures = 0;
    onChange(o, verb);
  };
  informer.on('add', handle('add'));
  informer.on('update', handle('update'));
  informer.on('delete', handle('delete'));
  informer.on('error', (err: unknown) => {
    if (stopped) return;
    if (failures++ === 0) log(`watch ${path}: ${describeError(err)}; retrying`);
    timer = setTimeout(
      () => {
        if (!stopped) informer.start().catch(() => undefined);
      },
      Math.min(250 * 2 ** failures, 5_000),
    );
  });
  // The first list may fail (an API without this resource): keep retrying in the background.
  await informer.start().catch(() => undefined);
  return {
    get: (name, ns) => informer.get(name, ns),
    list: (ns) => informer.list(ns),
    async stop() {
      stopped = true;
      if (timer !== undefined) clearTimeout(timer);
      await informer.stop();
    },
  };
}

export interface WorkQueue {
  add(key: string): void;
  /** Resolves when nothing is queued or running (for tests and orderly stops). */
  idle(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Keys reconciled one at a time per key, deduplicated while queued; a failed
 * reconcile is retried with backoff (100 ms doubling to 5 s). A key queued
 * while it runs is run again after.
 */
export function workQueue(
  reconcile: (key: string) => Promise<void>,
  log: (msg: string) => void,
  concurrency = 4,
): WorkQueue {
  const queued = new Set<string>();
  const running = new Set<string>();
  const failures = new Map<string, number>();
  const timers = new Set<NodeJS.Timeout>();
  let stopped = false;
  let waiters: Array<() => void> = [];

  const checkIdle = (): void => {
    if (queued.size === 0 && running.size === 0 && timers.size === 0) {
      for (const w of waiters) w();
      waiters = [];
    }
  };

  const pump = (): void => {
    for (const key of queued) {
      if (stopped || running.size >= concurrency) return;
      if (running.has(key)) continue;
      queued.delete(key);
      running.add(key);
      reconcile(key)
        .then(() => failures.delete(key))
        .catch((err: unknown) => {
          if (stopped) return;
          const n = (failures.get(key) ?? 0) + 1;
          failures.set(key, n);
          log(`${key}: ${describeError(err)} (retry ${n})`);
          const t = setTimeout(
            () => {
              timers.delete(t);
              add(key);
            },
            Math.min(100 * 2 ** (n - 1), 5_000),
          );
          timers.add(t);
        })
        .finally(() => {
          running.delete(key);
          pump();
          checkIdle();
        });
    }
  };

  const add = (key: string): void => {
    if (stopped) return;
    queued.add(key);
    queueMicrotask(pump);
  };

  return {
    add,
    idle: () =>
      new Promise<void>((resolve) => {
        waiters.push(resolve);
        checkIdle();
      }),
    async stop() {
      stopped = true;
      queued.clear();
      for (const t of timers) clearTimeout(t);
      timers.clear();
      while (running.size > 0) await new Promise((r) => setTimeout(r, 20));
      checkIdle();
    },
  };
}

export const keyOf = (o: KubernetesObject): string =>
  o.metadata?.namespace
    ? `${o.metadata.namespace}/${o.metadata.name ?? ''}`
    : (o.metadata?.name ?? '');

export function splitKey(key: string): { namespace: string; name: string } {
  const i = key.indexOf('/');
  return i < 0
    ? { namespace: '', name: key }
    : { namespace: key.slice(0, i), name: key.slice(i + 1) };
}

export type Logger = (msg: string) => void;

/** JSON with object keys sorted and undefined dropped, to compare objects whatever built them. */
export function stableJson(v: unknown, skip: readonly string[] = []): string {
  const norm = (x: unknown): unknown => {
    if (x instanceof Date) return x.toISOString();
    if (Array.isArray(x)) return x.map(norm);
    if (x !== null && typeof x === 'object') {
      return Object.fromEntries(
        Object.keys(x)
          .filter((k) => !skip.includes(k) && (x as Record<string, unknown>)[k] !== undefined)
          .sort()
          .map((k) => [k, norm((x as Record<string, unknown>)[k])]),
      );
    }
    return x;
  };
  return JSON.stringify(norm(v));
}
