// The replicator's only door to the Kubernetes API: generic object calls with
// the patch content type that matches each body, pod logs, and commands run in
// a container (pods/exec) for quiesce hooks.
import { Writable } from 'node:stream';
import {
  CoreV1Api,
  Exec,
  KubeConfig,
  KubernetesObjectApi,
  PatchStrategy,
  type KubernetesObject,
  type V1Status,
} from '@kubernetes/client-node';
import type { HookOutcome } from './quiesce.ts';

export interface Kube {
  list<T extends KubernetesObject>(
    apiVersion: string,
    kind: string,
    namespace?: string,
    labelSelector?: string,
    fieldSelector?: string,
  ): Promise<T[]>;
  get<T extends KubernetesObject>(
    apiVersion: string,
    kind: string,
    namespace: string,
    name: string,
  ): Promise<T | undefined>;
  create<T extends KubernetesObject>(obj: T): Promise<T>;
  /** JSON merge patch (RFC 7386), sent as application/merge-patch+json. */
  mergePatch<T extends KubernetesObject>(obj: T, patch: object): Promise<T>;
  delete(obj: KubernetesObject): Promise<void>;
  podLog(namespace: string, pod: string, container: string): Promise<string>;
  /**
   * Runs argv in a container (pods/exec over WebSocket) and says how it
   * ended; a command still running after timeoutMs is left to itself (the
   * connection is closed). Rejects only when the API server cannot be reached.
   */
  exec(
    namespace: string,
    pod: string,
    container: string,
    command: string[],
    timeoutMs: number,
  ): Promise<HookOutcome>;
}

/** The closing Status of an exec as an outcome. Pure. */
export function execOutcome(status: V1Status, stderr: string): HookOutcome {
  if (status.status === 'Success') return { kind: 'exited', exitCode: 0, stderr };
  const code = status.details?.causes?.find((c) => c.reason === 'ExitCode')?.message;
  if (code !== undefined && /^\d+$/.test(code))
    return { kind: 'exited', exitCode: Number(code), stderr };
  return { kind: 'refused', message: status.message ?? 'the command failed' };
}

/** Keeps the last `limit` bytes written to it. */
function tail(limit: number): { stream: Writable; text: () => string } {
  let buf = Buffer.alloc(0);
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      buf = Buffer.concat([buf, chunk]);
      if (buf.length > limit) buf = buf.subarray(buf.length - limit);
      cb();
    },
  });
  return { stream, text: () => buf.toString('utf8') };
}

function execIn(kc: KubeConfig): Kube['exec'] {
  return (namespace, pod, container, command, timeoutMs) =>
    new Promise<HookOutcome>((resolve, reject) => {
      const out = tail(4096);
      const err = tail(4096);
      let settled = false;
      let socket: { close(): void } | undefined;
      const done = (o: HookOutcome): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolve(o);
      };
      const timer = setTimeout(() => {
        done({ kind: 'timed-out' });
        socket?.close();
      }, timeoutMs);
      new Exec(kc)
        .exec(namespace, pod, container, command, out.stream, err.stream, null, false, (status) =>
          done(execOutcome(status, err.text())),
        )
        .then((ws: { close(): void; on(e: 'close', f: () => void): void }) => {
          socket = ws;
          if (settled) ws.close();
          ws.on('close', () =>
            done({ kind: 'refused', message: 'the connection closed before the command ended' }),
          );
        })
        .catch((e: unknown) => {
          const message = (e as { message?: string }).message ?? String(e);
          // The API server answered the upgrade with a refusal (403, 404, 400): no retry helps.
          if (/Unexpected server response: 4\d\d/.test(message)) done({ kind: 'refused', message });
          else if (!settled) {
            settled = true;
            clearTimeout(timer);
            reject(new Error(`exec in pod ${namespace}/${pod}: ${message}`));
          }
        });
    });
}

function isNotFound(err: unknown): boolean {
  return (err as { code?: number }).code === 404;
}

/**
 * What went wrong, as the API server said it (its Status message), or the
 * error's own message. client-node's ApiException message holds the raw body
 * and every response header, which is no message for a log line or an Event.
 */
export function apiErrorMessage(err: unknown): string {
  const e = err as { code?: unknown; body?: unknown } | undefined;
  if (typeof e?.code === 'number' && e.body !== undefined) {
    const status = statusOf(e.body);
    if (!status && typeof e.body === 'string') return `${e.code}: ${e.body.slice(0, 300)}`;
    if (typeof status?.message === 'string' && status.message) return status.message;
  }
  return err instanceof Error ? err.message : String(err);
}

/** The Status an API error carries: client-node keeps its JSON text, others the object. */
function statusOf(body: unknown): { message?: unknown; reason?: unknown } | undefined {
  if (typeof body !== 'string')
    return (body ?? undefined) as { message?: unknown; reason?: unknown };
  try {
    return JSON.parse(body) as { message?: unknown; reason?: unknown };
  } catch {
    return undefined;
  }
}

/**
 * Whether the API server refused a write for a stale resourceVersion (409,
 * reason Conflict): someone changed the object since it was read. Not
 * AlreadyExists, the other 409.
 */
export function isStaleWrite(err: unknown): boolean {
  const e = err as { code?: unknown; body?: unknown } | undefined;
  return e?.code === 409 && statusOf(e.body)?.reason === 'Conflict';
}

export function kubeFrom(kc: KubeConfig): Kube {
  const objects = KubernetesObjectApi.makeApiClient(kc);
  const core = kc.makeApiClient(CoreV1Api);
  return {
    async list<T extends KubernetesObject>(
      apiVersion: string,
      kind: string,
      namespace?: string,
      labelSelector?: string,
      fieldSelector?: string,
    ) {
      const list = await objects.list<T>(
        apiVersion,
        kind,
        namespace,
        undefined,
        undefined,
        undefined,
        fieldSelector,
        labelSelector,
      );
      return list.items.map((o) => ({ apiVersion, kind, ...o }));
    },
    async get<T extends KubernetesObject>(
      apiVersion: string,
      kind: string,
      namespace: string,
      name: string,
    ) {
      try {
        return await objects.read<T>({ apiVersion, kind, metadata: { name, namespace } } as never);
      } catch (err) {
        if (isNotFound(err)) return undefined;
        throw err;
      }
    },
    create: (obj) => objects.create(obj),
    mergePatch: (obj, patch: { metadata?: object }) =>
      objects.patch(
        {
          ...patch,
          apiVersion: obj.apiVersion,
          kind: obj.kind,
          // Name and namespace address the object; the rest is the patch.
          metadata: {
            ...patch.metadata,
            name: obj.metadata?.name,
            namespace: obj.metadata?.namespace,
          },
        } as never,
        undefined,
        undefined,
        'scribe-replicator',
        undefined,
        PatchStrategy.MergePatch,
      ),
    async delete(obj) {
      try {
        await objects.delete(obj, undefined, undefined, undefined, undefined, 'Background');
      } catch (err) {
        if (!isNotFound(err)) throw err;
      }
    },
    podLog: (namespace, name, container) =>
      core.readNamespacedPodLog({ namespace, name, container }),
    exec: execIn(kc),
  };
}
