// A bounded memo: values by string key, the least recently used dropped first.
// For pure computations whose inputs repeat (pods of one ReplicaSet, writes of
// one claim); callers must treat values as read-only.
export interface LruMemo<V> {
  get(key: string, compute: () => V): V;
  readonly size: number;
}

/**
 * At most `maxEntries` values, and none whose key is longer than
 * `maxKeyLength`: keys are built from what clients send (annotations), and a
 * memo of large keys would let a client fill the server's memory.
 */
export function lruMemo<V>(maxEntries: number, maxKeyLength: number): LruMemo<V> {
  const entries = new Map<string, V>();
  return {
    get(key, compute) {
      if (key.length > maxKeyLength) return compute();
      const hit = entries.get(key);
      if (hit !== undefined) {
        entries.delete(key); // refresh its place in the order
        entries.set(key, hit);
        return hit;
      }
      const value = compute();
      entries.set(key, value);
      if (entries.size > maxEntries) entries.delete(entries.keys().next().value!);
      return value;
    },
    get size() {
      return entries.size;
    },
  };
}

/** Freezes a JSON-shaped value all the way down, so a shared memo entry cannot be changed by one caller. */
export function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}
