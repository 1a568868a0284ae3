// Strategic merge patch for the fields kubectl and Scribe send: maps merge,
// null deletes, lists merge by their patchMergeKey, primitive sets union, and
// the directives kubectl apply emits ($patch, $retainKeys,
// $deleteFromPrimitiveList, $setElementOrder).
import { MERGE_KEYS, PRIMITIVE_SETS, isPlainObject, mergeKeyFor } from './merge-keys.ts';
import { badRequest } from './status-errors.ts';

const DELETE_FROM = '$deleteFromPrimitiveList/';
const ELEMENT_ORDER = '$setElementOrder/';

function stripDirectives(v: unknown): unknown {
  if (Array.isArray(v))
    return v.filter((i) => !(isPlainObject(i) && i.$patch === 'delete')).map(stripDirectives);
  if (!isPlainObject(v)) return v;
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) {
    if (k.startsWith('$')) continue;
    if (x === null) continue;
    out[k] = stripDirectives(x);
  }
  return out;
}

function mergeList(field: string, original: unknown[], patch: unknown[]): unknown[] {
  const key = mergeKeyFor(field, original, patch);
  if (patch.some((i) => isPlainObject(i) && i.$patch === 'replace')) {
    return patch.filter((i) => !(isPlainObject(i) && i.$patch === 'replace')).map(stripDirectives);
  }
  if (!key) {
    if (PRIMITIVE_SETS.has(field)) {
      const out = [...original];
      for (const v of patch) if (!out.includes(v)) out.push(v);
      return out;
    }
    return patch.map(stripDirectives) as unknown[];
  }
  const out = [...original];
  for (const item of patch) {
    if (!isPlainObject(item))
      throw badRequest(`unable to find api field in struct for the list "${field}"`);
    const idx = out.findIndex((o) => isPlainObject(o) && o[key] === item[key]);
    if (item.$patch === 'delete') {
      if (idx >= 0) out.splice(idx, 1);
      continue;
    }
    if (idx >= 0) out[idx] = strategicMerge(out[idx], item);
    else out.push(stripDirectives(item));
  }
  return out;
}

function orderList(field: string, list: unknown[], order: unknown[]): unknown[] {
  const key = MERGE_KEYS[field] ?? mergeKeyFor(field, list);
  const pos = (v: unknown): number =>
    order.findIndex((o) =>
      isPlainObject(o) && isPlainObject(v) && key ? o[key] === v[key] : o === v,
    );
  const known = list.filter((v) => pos(v) >= 0).sort((a, b) => pos(a) - pos(b));
  return [...known, ...list.filter((v) => pos(v) < 0)];
}

/** Applies a strategic merge patch to `original` (not modified). */
export function strategicMerge(original: unknown, patch: unknown): unknown {
  if (!isPlainObject(patch)) return patch;
  if (patch.$patch === 'replace') return stripDirectives(patch);
  if (patch.$patch === 'delete') return undefined;
  const result: Record<string, unknown> = isPlainObject(original) ? { ...original } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (k.startsWith('$')) continue;
    if (v === null) {
      delete result[k];
    } else if (Array.isArray(v)) {
      const orig = Array.isArray(result[k]) ? (result[k] as unknown[]) : [];
      result[k] = mergeList(k, orig, v);
    } else if (isPlainObject(v)) {
      const merged = strategicMerge(result[k], v);
      if (merged === undefined) delete result[k];
      else result[k] = merged;
    } else {
      result[k] = v;
    }
  }
  for (const [k, v] of Object.entries(patch)) {
    if (k.startsWith(DELETE_FROM) && Array.isArray(v)) {
      const field = k.slice(DELETE_FROM.length);
      if (Array.isArray(result[field]))
        result[field] = (result[field] as unknown[]).filter((x) => !v.includes(x));
    }
  }
  for (const [k, v] of Object.entries(patch)) {
    if (k.startsWith(ELEMENT_ORDER) && Array.isArray(v)) {
      const field = k.slice(ELEMENT_ORDER.length);
      if (Array.isArray(result[field]))
        result[field] = orderList(field, result[field] as unknown[], v);
    }
  }
  const retain = patch.$retainKeys;
  if (Array.isArray(retain)) {
    for (const k of Object.keys(result)) if (!retain.includes(k)) delete result[k];
  }
  return result;
}
