import {
  CoreV1Api,
  type KubeConfig,
  ListWatch,
  type V1PersistentVolumeClaim,
  type V1PersistentVolumeClaimList,
  Watch,
} from '@kubernetes/client-node';
import type { Logger } from './log.ts';
import type { PvcLookup } from './pod-injection.ts';

// The claims the webhook reads on every pod admission, kept by list+watch so
// that no admission waits on an API call. A watch that fails is restarted with
// capped backoff; meanwhile the last known state keeps serving.

export interface PvcCacheOptions {
  log: Logger;
  // Only this namespace (tests, single-namespace installs); all when absent.
  namespace?: string;
  backoffBaseMs?: number;
  backoffCapMs?: number;
  onSynced?: (synced: boolean) => void;
}

// Claims are kept without managedFields: an admission never reads them and
// they are most of a claim's bytes.
function slim(pvc: V1PersistentVolumeClaim): V1PersistentVolumeClaim {
  if (pvc.metadata?.managedFields) delete pvc.metadata.managedFields;
  return pvc;
}

export class PvcWatchCache implements PvcLookup {
  #informer: ListWatch<V1PersistentVolumeClaim>;
  #opts: PvcCacheOptions;
  #listed = false;
  #stopped = false;
  #failures = 0;
  #retry: NodeJS.Timeout | undefined;

  constructor(kc: KubeConfig, opts: PvcCacheOptions) {
    this.#opts = opts;
    const core = kc.makeApiClient(CoreV1Api);
    const ns = opts.namespace;
    const path = ns
      ? `/api/v1/namespaces/${encodeURIComponent(ns)}/persistentvolumeclaims`
      : '/api/v1/persistentvolumeclaims';
    const list = async (): Promise<V1PersistentVolumeClaimList> => {
      const result = ns
        ? await core.listNamespacedPersistentVolumeClaim({ namespace: ns })
        : await core.listPersistentVolumeClaimForAllNamespaces();
      result.items.forEach(slim);
      if (!this.#listed) opts.log.info({ claims: result.items.length }, 'claim cache listed');
      this.#listed = true;
      this.#failures = 0;
      opts.onSynced?.(true);
      return result;
    };
    this.#informer = new ListWatch(path, new Watch(kc), list, false);
    this.#informer.on('add', slim);
    this.#informer.on('update', slim);
    this.#informer.on('error', (err: unknown) => this.#restart(err));
  }

  get synced(): boolean {
    return this.#listed;
  }

  get(namespace: string, name: string): V1PersistentVolumeClaim | undefined {
    return this.#informer.get(name, namespace);
  }

  list(namespace?: string): readonly V1PersistentVolumeClaim[] {
    return this.#informer.list(namespace);
  }

  async start(): Promise<void> {
    this.#stopped = false;
    await this.#informer.start();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#retry);
    await this.#informer.stop();
  }

  #restart(err: unknown): void {
    if (this.#stopped) return;
    this.#failures += 1;
    const base = this.#opts.backoffBaseMs ?? 1000;
    const delay = Math.min(base * 2 ** (this.#failures - 1), this.#opts.backoffCapMs ?? 30_000);
    this.#opts.log.warn(
      { err: (err as Error)?.message ?? String(err), retryInMs: delay, failures: this.#failures },
      'claim watch failed; serving the last known claims',
    );
    clearTimeout(this.#retry);
    this.#retry = setTimeout(() => {
      if (!this.#stopped) void this.#informer.start();
    }, delay);
    this.#retry.unref();
  }
}
