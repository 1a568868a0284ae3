// metadata.managedFields: who set which field. Update operations own the
// fields they changed (taking them from other managers); server-side apply
// owns exactly the fields in its applied configuration, conflicts with fields
// another manager set to a different value, and removes the fields it
// stopped applying. Field paths use the FieldsV1 element syntax
// (`f:name`, `k:{"name":"app"}`, `v:"value"`, `.` for "this map/item").
import { isDeepStrictEqual } from 'node:util';
import type { V1ManagedFieldsEntry } from '@kubernetes/client-node';
import type { KubeObject } from './admission-seam.ts';
import {
  MAP_FIELDS,
  POINTER_FIELDS,
  PRIMITIVE_SETS,
  isPlainObject,
  mergeKeyFor,
} from './merge-keys.ts';

export type FieldPath = string[];

/** Metadata the server owns; no manager ever owns it. */
const SERVER_META = new Set([
  'name',
  'namespace',
  'uid',
  'resourceVersion',
  'generation',
  'creationTimestamp',
  'deletionTimestamp',
  'deletionGracePeriodSeconds',
  'managedFields',
  'selfLink',
]);

function keyElement(key: string, item: Record<string, unknown>): string {
  return `k:${JSON.stringify({ [key]: item[key] })}`;
}

/**
 * Leaf paths of `value` (and "." markers for maps and keyed items when
 * `dots`), restricted to the status (`part: 'status'`) or to everything else.
 */
export function fieldPaths(
  obj: unknown,
  part: 'main' | 'status' | 'all',
  dots: boolean,
): FieldPath[] {
  const out: FieldPath[] = [];
  if (!isPlainObject(obj)) return out;
  for (const [k, v] of Object.entries(obj)) {
    if (k === 'apiVersion' || k === 'kind') continue;
    if (part === 'main' && k === 'status') continue;
    if (part === 'status' && k !== 'status') continue;
    if (k === 'metadata' && isPlainObject(v)) {
      const meta = Object.fromEntries(Object.entries(v).filter(([mk]) => !SERVER_META.has(mk)));
      walk(meta, ['f:metadata'], out, dots);
      continue;
    }
    walkValue(k, v, [], out, dots);
  }
  return out;
}

function walkValue(
  k: string,
  v: unknown,
  prefix: FieldPath,
  out: FieldPath[],
  dots: boolean,
): void {
  const p = [...prefix, `f:${k}`];
  if (v === null || v === undefined) return;
  if (isPlainObject(v)) {
    if (Object.keys(v).length === 0) out.push(p);
    else {
      if (dots && (MAP_FIELDS.has(k) || POINTER_FIELDS.has(k))) out.push([...p, '.']);
      walk(v, p, out, dots);
    }
  } else if (Array.isArray(v)) {
    const key = mergeKeyFor(k, v);
    if (key && v.every((i) => isPlainObject(i) && i[key] !== undefined)) {
      if (dots && POINTER_FIELDS.has(k)) out.push([...p, '.']);
      for (const item of v as Record<string, unknown>[]) {
        const ip = [...p, keyElement(key, item)];
        if (dots) out.push([...ip, '.']);
        walk(item, ip, out, dots);
      }
    } else if (PRIMITIVE_SETS.has(k)) {
      if (dots) out.push([...p, '.']);
      for (const item of v) out.push([...p, `v:${JSON.stringify(item)}`]);
    } else out.push(p);
  } else out.push(p);
}

function walk(
  obj: Record<string, unknown>,
  prefix: FieldPath,
  out: FieldPath[],
  dots: boolean,
): void {
  for (const [k, v] of Object.entries(obj)) {
    if (k.startsWith('$')) continue;
    walkValue(k, v, prefix, out, dots);
  }
}

/** The value at a path, or undefined; "." paths give the container itself. */
export function valueAt(obj: unknown, path: FieldPath): unknown {
  let cur: unknown = obj;
  for (const el of path) {
    if (el === '.') return cur;
    if (cur === undefined || cur === null) return undefined;
    if (el.startsWith('f:')) {
      if (!isPlainObject(cur)) return undefined;
      cur = cur[el.slice(2)];
    } else if (el.startsWith('k:')) {
      if (!Array.isArray(cur)) return undefined;
      const want = JSON.parse(el.slice(2)) as Record<string, unknown>;
      cur = cur.find(
        (i) => isPlainObject(i) && Object.entries(want).every(([wk, wv]) => i[wk] === wv),
      );
    } else if (el.startsWith('v:')) {
      if (!Array.isArray(cur)) return undefined;
      const want = JSON.parse(el.slice(2)) as unknown;
      return cur.some((i) => isDeepStrictEqual(i, want)) ? want : undefined;
    }
  }
  return cur;
}

/** Removes the field at `path` from `obj` in place. */
export function removeAt(obj: unknown, path: FieldPath): void {
  if (path.length === 0 || path[path.length - 1] === '.') return;
  const parent = valueAt(obj, path.slice(0, -1));
  const el = path[path.length - 1]!;
  if (el.startsWith('f:') && isPlainObject(parent)) delete parent[el.slice(2)];
  else if (Array.isArray(parent)) {
    const want = JSON.parse(el.slice(2)) as unknown;
    const idx = el.startsWith('k:')
      ? parent.findIndex(
          (i) =>
            isPlainObject(i) && Object.entries(want as object).every(([wk, wv]) => i[wk] === wv),
        )
      : parent.findIndex((i) => isDeepStrictEqual(i, want));
    if (idx >= 0) parent.splice(idx, 1);
  }
}

export function toFieldsV1(paths: FieldPath[]): Record<string, unknown> {
  const root: Record<string, unknown> = {};
  for (const p of paths) {
    let node = root;
    for (const el of p) {
      node[el] ??= {};
      node = node[el] as Record<string, unknown>;
    }
  }
  return root;
}

export function fromFieldsV1(tree: unknown, prefix: FieldPath = []): FieldPath[] {
  const out: FieldPath[] = [];
  if (!isPlainObject(tree)) return out;
  for (const [k, v] of Object.entries(tree)) {
    const p = [...prefix, k];
    if (k === '.' || !isPlainObject(v) || Object.keys(v).length === 0) out.push(p);
    else out.push(...fromFieldsV1(v, p));
  }
  return out;
}

const keyOf = (p: FieldPath): string => JSON.stringify(p);

/** `.metadata.annotations.x`, `.spec.containers[name="app"].image`: how conflicts name a field. */
export function describePath(p: FieldPath): string {
  return p
    .filter((el) => el !== '.')
    .map((el) => {
      if (el.startsWith('f:')) return `.${el.slice(2)}`;
      if (el.startsWith('k:')) {
        const o = JSON.parse(el.slice(2)) as Record<string, unknown>;
        return `[${Object.entries(o)
          .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
          .join(',')}]`;
      }
      return `[=${el.slice(2)}]`;
    })
    .join('');
}

export interface ManagerContext {
  manager: string;
  apiVersion: string;
  time: string;
  subresource?: string;
}

function entryPaths(e: V1ManagedFieldsEntry): FieldPath[] {
  return fromFieldsV1(e.fieldsV1);
}

function withPaths(e: V1ManagedFieldsEntry, paths: FieldPath[]): V1ManagedFieldsEntry {
  return { ...e, fieldsV1: toFieldsV1(paths) } as V1ManagedFieldsEntry;
}

function entry(
  ctx: ManagerContext,
  operation: 'Update' | 'Apply',
  paths: FieldPath[],
): V1ManagedFieldsEntry {
  const e: Record<string, unknown> = {
    manager: ctx.manager,
    operation,
    apiVersion: ctx.apiVersion,
    time: ctx.time,
    fieldsType: 'FieldsV1',
    fieldsV1: toFieldsV1(paths),
  };
  if (ctx.subresource) e.subresource = ctx.subresource;
  return e as unknown as V1ManagedFieldsEntry;
}

/** Drops paths no longer present in `obj` and entries left empty. */
function prune(entries: V1ManagedFieldsEntry[], obj: KubeObject): V1ManagedFieldsEntry[] {
  return entries
    .map((e) =>
      withPaths(
        e,
        entryPaths(e).filter((p) => valueAt(obj, p) !== undefined),
      ),
    )
    .filter((e) => fromFieldsV1(e.fieldsV1).length > 0);
}

/** managedFields after an Update-type write (create, update, any non-apply patch). */
export function updateManagedFields(
  oldObj: KubeObject | null,
  newObj: KubeObject,
  ctx: ManagerContext,
): V1ManagedFieldsEntry[] {
  const part = ctx.subresource === 'status' ? 'status' : 'main';
  const before = oldObj ?? ({} as KubeObject);
  const changed = fieldPaths(newObj, part, true).filter((p) => {
    if (p[p.length - 1] === '.') return valueAt(before, p) === undefined;
    return !isDeepStrictEqual(valueAt(before, p), valueAt(newObj, p));
  });
  const changedKeys = new Set(changed.map(keyOf));
  let entries = (oldObj?.metadata?.managedFields ?? []).map((e) =>
    withPaths(
      e,
      entryPaths(e).filter((p) => !changedKeys.has(keyOf(p))),
    ),
  );
  if (changed.length > 0) {
    const i = entries.findIndex(
      (e) =>
        e.manager === ctx.manager &&
        e.operation === 'Update' &&
        e.apiVersion === ctx.apiVersion &&
        (e.subresource ?? '') === (ctx.subresource ?? ''),
    );
    // The writer's entry moves to the end, as the server lists the latest writer last.
    const previous = i >= 0 ? entryPaths(entries[i]!) : [];
    if (i >= 0) entries.splice(i, 1);
    entries.push(entry(ctx, 'Update', [...previous, ...changed]));
  }
  entries = prune(entries, newObj);
  return entries;
}

export interface ApplyConflict {
  manager: string;
  path: FieldPath;
  /** `"kubectl"` or `"kubectl-annotate" using v1` as the message names it. */
  label: string;
}

export interface ApplyResult {
  object: KubeObject;
  conflicts: ApplyConflict[];
}

/**
 * Server-side apply of `applied` (the configuration, already merged onto the
 * live object by the caller as `merged`) for `ctx.manager`.
 */
export function applyManagedFields(
  live: KubeObject | null,
  merged: KubeObject,
  applied: KubeObject,
  ctx: ManagerContext,
  force: boolean,
): ApplyResult {
  const appliedPaths = fieldPaths(applied, 'main', false);
  const appliedKeys = new Set(appliedPaths.map(keyOf));
  const entries = [...(live?.metadata?.managedFields ?? [])];
  const conflicts: ApplyConflict[] = [];
  const updated: V1ManagedFieldsEntry[] = [];
  for (const e of entries) {
    if (e.manager === ctx.manager && e.operation === 'Apply') continue;
    const paths = entryPaths(e);
    const keep: FieldPath[] = [];
    for (const p of paths) {
      if (appliedKeys.has(keyOf(p)) && !isDeepStrictEqual(valueAt(live, p), valueAt(applied, p))) {
        if (!force) {
          const label =
            e.operation === 'Update' ? `"${e.manager}" using ${e.apiVersion}` : `"${e.manager}"`;
          conflicts.push({ manager: e.manager!, path: p, label });
        }
        continue; // forced: the applier takes it
      }
      keep.push(p);
    }
    updated.push(withPaths(e, keep));
  }
  const object = structuredClone(merged);
  // Fields this manager applied before and dropped now go, unless someone else owns them.
  const previous = entries.find((e) => e.manager === ctx.manager && e.operation === 'Apply');
  if (previous) {
    const othersOwn = new Set(updated.flatMap((e) => entryPaths(e).map(keyOf)));
    for (const p of entryPaths(previous)) {
      if (!appliedKeys.has(keyOf(p)) && !othersOwn.has(keyOf(p))) removeAt(object, p);
    }
  }
  const own = entry(ctx, 'Apply', appliedPaths);
  const at = entries.findIndex((e) => e.manager === ctx.manager && e.operation === 'Apply');
  const list = updated.filter((e) => fromFieldsV1(e.fieldsV1).length > 0);
  if (at >= 0) list.splice(Math.min(at, list.length), 0, own);
  else list.push(own);
  object.metadata!.managedFields = list;
  return { object, conflicts };
}

/** The 409 message kube-apiserver gives for apply conflicts. */
export function conflictMessage(conflicts: ApplyConflict[]): string {
  if (conflicts.length === 1) {
    const c = conflicts[0]!;
    return `Apply failed with 1 conflict: conflict with ${c.label}: ${describePath(c.path)}`;
  }
  const byManager = new Map<string, ApplyConflict[]>();
  for (const c of conflicts) byManager.set(c.label, [...(byManager.get(c.label) ?? []), c]);
  const parts = [...byManager.entries()].map(
    ([label, cs]) =>
      `conflicts with ${label}:\n${cs.map((c) => `- ${describePath(c.path)}`).join('\n')}`,
  );
  return `Apply failed with ${conflicts.length} conflicts: ${parts.join('\n')}`;
}

/** User-Agent `kubectl/v1.32.4 (linux/amd64) …` → `kubectl`: the default manager name. */
export function managerFromUserAgent(ua: string | undefined): string {
  const first = (ua ?? '').split('/')[0]!.trim();
  return first.length > 0 ? first.slice(0, 128) : 'unknown';
}
