// Objects, the cluster-wide resourceVersion counter and the bounded event
// history watches replay from. The store knows nothing of Kubernetes rules:
// callers decide, the store records and fans events out.
import type { KubeObject } from './admission-seam.ts';

export type EventType = 'ADDED' | 'MODIFIED' | 'DELETED';

export interface StoredEvent {
  type: EventType;
  /** resourceKey() of the object's resource. */
  resource: string;
  rv: number;
  object: KubeObject;
  /** The object before this event (MODIFIED only): watches with selectors need it. */
  previous?: KubeObject;
}

export type Listener = (e: StoredEvent) => void;

function nsName(namespace: string | undefined, name: string): string {
  return `${namespace ?? ''}/${name}`;
}

export function clone<T>(v: T): T {
  return structuredClone(v);
}

export class Store {
  private rv = 0;
  private readonly objects = new Map<string, Map<string, KubeObject>>();
  private readonly history: StoredEvent[] = [];
  /** Events with rv below this are gone: a watch from before it gets 410. */
  private oldestRetained = 1;
  private readonly listeners = new Set<Listener>();
  readonly historyLimit: number;

  constructor(historyLimit = 5000) {
    this.historyLimit = historyLimit;
  }

  get resourceVersion(): number {
    return this.rv;
  }

  /** The oldest rv a watch may start from and still see every later event. */
  get oldestWatchable(): number {
    return this.oldestRetained - 1;
  }

  private bucket(resource: string): Map<string, KubeObject> {
    let b = this.objects.get(resource);
    if (!b) {
      b = new Map();
      this.objects.set(resource, b);
    }
    return b;
  }

  get(resource: string, namespace: string | undefined, name: string): KubeObject | undefined {
    const o = this.bucket(resource).get(nsName(namespace, name));
    return o && clone(o);
  }

  /** Objects sorted by namespace then name, as etcd's key order gives them. */
  list(resource: string, namespace?: string): KubeObject[] {
    const out: KubeObject[] = [];
    const keys = [...this.bucket(resource).keys()].sort();
    for (const k of keys) {
      const o = this.bucket(resource).get(k)!;
      if (namespace === undefined || o.metadata?.namespace === namespace) out.push(clone(o));
    }
    return out;
  }

  /**
   * The stored objects themselves, not copies, for readers that only look
   * (the garbage collector runs after every write: cloning every object each
   * time made a write cost grow with the store). A write replaces an entry
   * with a new object and never changes a stored one, so what this returns
   * stays as it was read. Callers must not modify it.
   */
  peek(resource: string): readonly KubeObject[] {
    const b = this.bucket(resource);
    return [...b.keys()].sort().map((k) => b.get(k)!);
  }

  resources(): string[] {
    return [...this.objects.keys()];
  }

  /** Stores an object under a new resourceVersion and emits ADDED or MODIFIED. */
  put(resource: string, obj: KubeObject): KubeObject {
    const meta = obj.metadata!;
    const key = nsName(meta.namespace, meta.name!);
    const previous = this.bucket(resource).get(key);
    const rv = ++this.rv;
    const stored = clone(obj);
    stored.metadata!.resourceVersion = String(rv);
    this.bucket(resource).set(key, stored);
    this.record({
      type: previous ? 'MODIFIED' : 'ADDED',
      resource,
      rv,
      object: clone(stored),
      previous,
    });
    return clone(stored);
  }

  /** Removes an object; the DELETED event carries it at a new resourceVersion. */
  remove(resource: string, namespace: string | undefined, name: string): KubeObject | undefined {
    const key = nsName(namespace, name);
    const previous = this.bucket(resource).get(key);
    if (!previous) return undefined;
    this.bucket(resource).delete(key);
    const rv = ++this.rv;
    const gone = clone(previous);
    gone.metadata!.resourceVersion = String(rv);
    this.record({ type: 'DELETED', resource, rv, object: clone(gone) });
    return gone;
  }

  private record(e: StoredEvent): void {
    this.history.push(e);
    while (this.history.length > this.historyLimit) {
      const dropped = this.history.shift()!;
      this.oldestRetained = dropped.rv + 1;
    }
    for (const l of [...this.listeners]) l(e);
  }

  /** Events after `rv` (exclusive), or undefined when some of them are gone. */
  since(rv: number): StoredEvent[] | undefined {
    if (rv < this.oldestWatchable) return undefined;
    return this.history.filter((e) => e.rv > rv);
  }

  subscribe(l: Listener): () => void {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  }
}
