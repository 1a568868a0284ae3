// PATCH bodies by content type: JSON merge patch (RFC 7386), JSON patch
// (RFC 6902), strategic merge patch and server-side apply. Errors are the ones
// kube-apiserver 1.24 answers (fixtures 400-, 415-, 422-json-patch-*).
import jsonMergePatch from 'json-merge-patch';
import fastJsonPatch from 'fast-json-patch';
import type { Operation } from 'fast-json-patch';
import { parse as parseYaml } from 'yaml';
import type { KubeObject } from './admission-seam.ts';
import { strategicMerge } from './strategic-merge.ts';
import {
  badRequest,
  jsonPatchRejected,
  mergePatchNotObject,
  unsupportedMediaType,
} from './status-errors.ts';
import { isPlainObject } from './merge-keys.ts';

export type PatchType = 'merge' | 'json' | 'strategic' | 'apply';

export function patchTypeOf(contentType: string | undefined): PatchType {
  const ct = (contentType ?? '').split(';')[0]!.trim().toLowerCase();
  switch (ct) {
    case 'application/merge-patch+json':
      return 'merge';
    case 'application/json-patch+json':
      return 'json';
    case 'application/strategic-merge-patch+json':
      return 'strategic';
    case 'application/apply-patch+yaml':
      return 'apply';
    default:
      throw unsupportedMediaType();
  }
}

function parseJson(body: string): unknown {
  try {
    return JSON.parse(body) as unknown;
  } catch (e) {
    throw badRequest(`error decoding patch: ${(e as Error).message}`);
  }
}

/** Parses an apply configuration (YAML or JSON) into an object. */
export function parseApplyConfig(body: string): KubeObject {
  let v: unknown;
  try {
    v = parseYaml(body);
  } catch (e) {
    throw badRequest(`error decoding YAML: ${(e as Error).message}`);
  }
  if (!isPlainObject(v))
    throw badRequest('error decoding YAML: the apply configuration must be an object');
  return v as KubeObject;
}

/** Applies a merge, JSON or strategic patch to `live`, returning the new object. */
export function applyPatch(
  type: Exclude<PatchType, 'apply'>,
  live: KubeObject,
  body: string,
): KubeObject {
  const patch = parseJson(body);
  switch (type) {
    case 'merge': {
      if (!isPlainObject(patch)) throw mergePatchNotObject(body.trim());
      return jsonMergePatch.apply(structuredClone(live), patch) as KubeObject;
    }
    case 'strategic': {
      if (!isPlainObject(patch)) throw mergePatchNotObject(body.trim());
      return strategicMerge(live, patch) as KubeObject;
    }
    case 'json': {
      if (!Array.isArray(patch))
        throw badRequest('json: cannot unmarshal object into Go value of type jsonpatch.Patch');
      try {
        const res = fastJsonPatch.applyPatch(
          structuredClone(live),
          patch as Operation[],
          true,
          false,
        );
        return res.newDocument as KubeObject;
      } catch {
        throw jsonPatchRejected();
      }
    }
  }
}

/** The object server-side apply produces from the live object and the applied configuration. */
export function mergeApplied(live: KubeObject | null, applied: KubeObject): KubeObject {
  return strategicMerge(live ?? {}, applied) as KubeObject;
}
