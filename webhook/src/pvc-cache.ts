import type {
  V1PersistentVolumeClaim,
  V1PersistentVolumeClaimList,
  V1Status,
} from '@kubernetes/client-node';
import type { KubeClient, WatchEvent } from './kube-client.ts';
import type { Logger } from './log.ts';
import type { PvcLookup } from './pod-injection.ts';

// The claims the webhook reads on every pod admission, kept by list+watch so
// that no admission waits on an API call. A watch the server ends is resumed
// from the last resourceVersion seen (bookmarks keep it fresh); a 410 Gone or
// a failure relists, failures with capped backoff; meanwhile the last known
// state keeps serving.

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
  readonly #client: KubeClient;
  readonly #opts: PvcCacheOptions;
  readonly #path: string;
  // namespace/name -> claim
  #claims = new Map<string, V1PersistentVolumeClaim>();
  #listed = false;
  #failures = 0;
  #abort = new AbortController();
  #retry: NodeJS.Timeout | undefined;
  #loop: Promise<void> | undefined;

  constructor(client: KubeClient, opts: PvcCacheOptions) {
    this.#client = client;
    this.#opts = opts;
    const ns = opts.namespace;
    this.#path = ns
      ? `/api/v1/namespaces/${encodeURIComponent(ns)}/persistentvolumeclaims`
      : '/api/v1/persistentvolumeclaims';
  }

  get synced(): boolean {
    return this.#listed;
  }

  get(namespace: string, name: string): V1PersistentVolumeClaim | undefined {
    return this.#claims.get(`${namespace}/${name}`);
  }

  list(namespace?: string): readonly V1PersistentVolumeClaim[] {
    const all = [...this.#claims.values()];
    return namespace === undefined ? all : all.filter((c) => c.metadata?.namespace === namespace);
  }

  /** Resolves once the first list was tried; the cache keeps itself current after. */
  async start(): Promise<void> {
    this.#abort = new AbortController();
    let firstTried: () => void = () => {};
    const tried = new Promise<void>((r) => (firstTried = r));
    this.#loop = this.#run(firstTried);
    await tried;
  }

  async stop(): Promise<void> {
    this.#abort.abort();
    clearTimeout(this.#retry);
    await this.#loop;
  }

  async #run(firstTried: () => void): Promise<void> {
    const signal = this.#abort.signal;
    while (!signal.aborted) {
      let rv: string | undefined;
      try {
        rv = await this.#relist();
      } catch (err) {
        firstTried();
        await this.#backoff(err);
        continue;
      }
      firstTried();
      try {
        // Resume until the server says the version is gone (410), then relist.
        while (!signal.aborted && rv !== undefined) {
          const began = Date.now();
          const next = await this.#watchFrom(rv);
          // A server that ends watches at once must not turn this into a busy loop.
          if (next === rv && Date.now() - began < 1000) await this.#pause(1000);
          rv = next;
        }
      } catch (err) {
        await this.#backoff(err);
      }
    }
  }

  async #relist(): Promise<string> {
    const result = await this.#client.request<V1PersistentVolumeClaimList>('GET', this.#path);
    const next = new Map<string, V1PersistentVolumeClaim>();
    for (const c of result.items) next.set(key(c), slim(c));
    this.#claims = next;
    if (!this.#listed) this.#opts.log.info({ claims: next.size }, 'claim cache listed');
    this.#listed = true;
    this.#failures = 0;
    this.#opts.onSynced?.(true);
    return result.metadata?.resourceVersion ?? '0';
  }

  // Returns the version to resume from, or undefined when a relist is needed.
  async #watchFrom(rv: string): Promise<string | undefined> {
    let last: string | undefined = rv;
    await this.#client.watch<V1PersistentVolumeClaim | V1Status>(
      this.#path,
      { resourceVersion: rv, allowWatchBookmarks: 'true', timeoutSeconds: '300' },
      (e) => {
        if (last === undefined) return;
        last = this.#apply(e) ?? undefined;
      },
      this.#abort.signal,
    );
    return last;
  }

  // Applies one event; returns the version it carries, or null for a 410.
  #apply(e: WatchEvent<V1PersistentVolumeClaim | V1Status>): string | null {
    if (e.type === 'ERROR') {
      const status = e.object as V1Status;
      if (status.code === 410) return null;
      throw new Error(`watch error: ${status.message ?? JSON.stringify(status)}`);
    }
    const claim = e.object as V1PersistentVolumeClaim;
    if (e.type === 'ADDED' || e.type === 'MODIFIED') this.#claims.set(key(claim), slim(claim));
    else if (e.type === 'DELETED') this.#claims.delete(key(claim));
    return claim.metadata?.resourceVersion ?? null;
  }

  #pause(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      this.#retry = setTimeout(resolve, ms);
      this.#abort.signal.addEventListener('abort', () => resolve(), { once: true });
    });
  }

  async #backoff(err: unknown): Promise<void> {
    if (this.#abort.signal.aborted) return;
    this.#failures += 1;
    const base = this.#opts.backoffBaseMs ?? 1000;
    const delay = Math.min(base * 2 ** (this.#failures - 1), this.#opts.backoffCapMs ?? 30_000);
    this.#opts.log.warn(
      { err: (err as Error)?.message ?? String(err), retryInMs: delay, failures: this.#failures },
      'claim watch failed; serving the last known claims',
    );
    await this.#pause(delay);
  }
}

function key(c: V1PersistentVolumeClaim): string {
  return `${c.metadata?.namespace ?? ''}/${c.metadata?.name ?? ''}`;
}
