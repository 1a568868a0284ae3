// RFC 6902 JSON Patch with the semantics and error texts of the library
// kube-apiserver v1.24 applies webhook patches with (evanphx/json-patch v4):
// a patch that does not apply is answered with its exact error, e.g.
// `add operation does not apply: doc is missing path: "/spec/initContainers/-": missing value`.
// v4 quirks kept on purpose: `replace` of a missing object key adds it, array
// indices may be negative (counted from the end), the root path "" is not
// addressable. Value comparison and cloning come from fast-json-patch.
import fastJsonPatch from 'fast-json-patch';
import { goJsonSyntaxError } from './go-json.ts';

const { _areEquals: deepEqual, deepClone } = fastJsonPatch;

export class PatchError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PatchError';
  }
}

const MISSING = 'missing value';
const INVALID_INDEX = 'invalid index referenced';
const TEST_FAILED = 'test failed';

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type Container = Json[] | { [k: string]: Json };

export interface PatchOperation {
  op?: unknown;
  path?: unknown;
  from?: unknown;
  value?: unknown;
}

/** Decodes patch bytes the way json.Unmarshal into []Operation would, or throws its complaint. */
export function decodePatch(bytes: Buffer): PatchOperation[] {
  const text = bytes.toString('utf8');
  const syntax = goJsonSyntaxError(text);
  if (syntax) throw new PatchError(syntax);
  const parsed: unknown = JSON.parse(text);
  if (!Array.isArray(parsed)) {
    throw new PatchError('json: cannot unmarshal object into Go value of type jsonpatch.Patch');
  }
  for (const op of parsed) {
    if (op === null || typeof op !== 'object' || Array.isArray(op)) {
      throw new PatchError(
        'json: cannot unmarshal non-object into Go value of type jsonpatch.Operation',
      );
    }
  }
  return parsed as PatchOperation[];
}

function isContainer(v: Json | undefined): v is Container {
  return v !== null && typeof v === 'object';
}

function unescape(part: string): string {
  return part.replaceAll('~1', '/').replaceAll('~0', '~');
}

/** strconv.Atoi, with its error text. */
function atoi(key: string): number {
  if (!/^[+-]?\d+$/.test(key))
    throw new PatchError(`strconv.Atoi: parsing "${key}": invalid syntax`);
  return Number.parseInt(key, 10);
}

function invalidIndex(idx: number): PatchError {
  return new PatchError(`Unable to access invalid index: ${idx}: ${INVALID_INDEX}`);
}

/** Index into an array for get/remove/replace: negative counts from the end. */
function existingIndex(arr: Json[], key: string): number {
  let idx = atoi(key);
  if (idx < 0) {
    if (idx < -arr.length) throw invalidIndex(idx);
    idx += arr.length;
  }
  if (idx >= arr.length) throw invalidIndex(idx);
  return idx;
}

function get(c: Container, key: string): Json | undefined {
  if (Array.isArray(c)) return c[existingIndex(c, key)];
  return Object.hasOwn(c, key) ? c[key] : undefined;
}

function add(c: Container, key: string, value: Json): void {
  if (!Array.isArray(c)) {
    c[key] = value;
    return;
  }
  if (key === '-') {
    c.push(value);
    return;
  }
  let idx: number;
  try {
    idx = atoi(key);
  } catch (e) {
    throw new PatchError(`value was not a proper array index: '${key}': ${(e as Error).message}`);
  }
  const size = c.length + 1;
  if (idx >= size) throw invalidIndex(idx);
  if (idx < 0) {
    if (idx < -size) throw invalidIndex(idx);
    idx += size;
  }
  c.splice(idx, 0, value);
}

function remove(c: Container, key: string): void {
  if (Array.isArray(c)) {
    c.splice(existingIndex(c, key), 1);
    return;
  }
  if (!Object.hasOwn(c, key)) {
    throw new PatchError(`Unable to remove nonexistent key: ${key}: ${MISSING}`);
  }
  delete c[key];
}

/** The container holding the path's last segment, or undefined when any parent is missing. */
function findObject(doc: Container, path: string): [Container, string] | undefined {
  const split = path.split('/');
  if (split.length < 2) return undefined;
  let cur: Container = doc;
  for (const raw of split.slice(1, -1)) {
    let next: Json | undefined;
    try {
      next = get(cur, unescape(raw));
    } catch {
      return undefined;
    }
    if (!isContainer(next)) return undefined;
    cur = next;
  }
  return [cur, unescape(split[split.length - 1] as string)];
}

const wrap = (what: string, e: unknown) => new PatchError(`${what}: ${(e as Error).message}`);

function applyOne(doc: Container, op: PatchOperation): void {
  const kind = typeof op.op === 'string' ? op.op : 'unknown';
  const path = typeof op.path === 'string' ? op.path : 'unknown';
  const from = typeof op.from === 'string' ? op.from : 'unknown';
  const value = (op.value === undefined ? null : deepClone(op.value)) as Json;
  switch (kind) {
    case 'add': {
      const found = findObject(doc, path);
      if (!found) {
        throw new PatchError(
          `add operation does not apply: doc is missing path: "${path}": ${MISSING}`,
        );
      }
      try {
        add(found[0], found[1], value);
      } catch (e) {
        throw wrap(`error in add for path: '${path}'`, e);
      }
      return;
    }
    case 'remove': {
      const found = findObject(doc, path);
      if (!found) {
        throw new PatchError(
          `remove operation does not apply: doc is missing path: "${path}": ${MISSING}`,
        );
      }
      try {
        remove(found[0], found[1]);
      } catch (e) {
        throw wrap(`error in remove for path: '${path}'`, e);
      }
      return;
    }
    case 'replace': {
      const found = findObject(doc, path);
      if (!found) {
        throw new PatchError(
          `replace operation does not apply: doc is missing path: ${path}: ${MISSING}`,
        );
      }
      const [c, key] = found;
      try {
        get(c, key);
      } catch {
        throw new PatchError(
          `replace operation does not apply: doc is missing key: ${path}: ${MISSING}`,
        );
      }
      if (Array.isArray(c)) c[existingIndex(c, key)] = value;
      else c[key] = value;
      return;
    }
    case 'move':
    case 'copy': {
      const src = findObject(doc, from);
      if (!src) {
        throw new PatchError(
          `${kind} operation does not apply: doc is missing from path: ${from}: ${MISSING}`,
        );
      }
      let val: Json | undefined;
      try {
        val = get(src[0], src[1]);
        if (kind === 'move') remove(src[0], src[1]);
      } catch (e) {
        throw wrap(
          kind === 'move'
            ? `error in move for path: '${src[1]}'`
            : `error in copy for from: '${from}'`,
          e,
        );
      }
      const dst = findObject(doc, path);
      if (!dst) {
        throw new PatchError(
          `${kind} operation does not apply: doc is missing destination path: ${path}: ${MISSING}`,
        );
      }
      try {
        add(dst[0], dst[1], kind === 'copy' ? (deepClone(val ?? null) as Json) : (val ?? null));
      } catch (e) {
        throw wrap(`error in ${kind} for path: '${dst[1]}'`, e);
      }
      return;
    }
    case 'test': {
      const found = findObject(doc, path);
      if (!found) {
        throw new PatchError(`test operation does not apply: is missing path: ${path}: ${MISSING}`);
      }
      let actual: Json | undefined;
      try {
        actual = get(found[0], found[1]);
      } catch (e) {
        throw wrap(`error in test for path: '${path}'`, e);
      }
      if (!deepEqual(actual ?? null, value)) {
        throw new PatchError(`testing value ${path} failed: ${TEST_FAILED}`);
      }
      return;
    }
    default:
      throw new PatchError(`Unexpected kind: ${kind}`);
  }
}

/** Applies the operations to a copy of `doc`; the first failing operation's error is thrown. */
export function applyPatch<T extends object>(doc: T, ops: PatchOperation[]): T {
  const out = deepClone(doc) as Container;
  for (const op of ops) applyOne(out, op);
  return out as T;
}
