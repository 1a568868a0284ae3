import { dirname, isAbsolute, resolve as resolvePath } from 'node:path';
import type { MergedKubeconfig, Named, RawCluster, RawContext, RawUser } from './types.ts';

/** One kubeconfig file as parsed from YAML (unknown shape until checked). */
export interface KubeconfigFile {
  path: string;
  content: unknown;
}

/**
 * kubectl's merge of several kubeconfig files (KUBECONFIG=a:b): the first file
 * that sets current-context wins, and for a cluster, user or context name
 * defined in several files the first file's whole entry wins. Relative paths
 * inside a file are relative to that file's directory, as kubectl resolves them.
 */
export function mergeKubeconfigs(files: KubeconfigFile[]): MergedKubeconfig {
  const merged: MergedKubeconfig = {
    currentContext: '',
    clusters: [],
    users: [],
    contexts: [],
    files: files.map((f) => f.path),
  };
  const seen = {
    clusters: new Set<string>(),
    users: new Set<string>(),
    contexts: new Set<string>(),
  };
  for (const file of files) {
    const doc = asObject(file.content, file.path, 'the file');
    const dir = dirname(file.path);
    if (!merged.currentContext && typeof doc['current-context'] === 'string') {
      merged.currentContext = doc['current-context'];
    }
    for (const { name, value } of entries(doc, 'clusters', 'cluster', file.path)) {
      if (seen.clusters.has(name)) continue;
      seen.clusters.add(name);
      merged.clusters.push({ name, value: resolveClusterPaths(value as RawCluster, dir) });
    }
    for (const { name, value } of entries(doc, 'users', 'user', file.path)) {
      if (seen.users.has(name)) continue;
      seen.users.add(name);
      merged.users.push({ name, value: resolveUserPaths(value as RawUser, dir) });
    }
    for (const { name, value } of entries(doc, 'contexts', 'context', file.path)) {
      if (seen.contexts.has(name)) continue;
      seen.contexts.add(name);
      merged.contexts.push({ name, value: value as RawContext });
    }
  }
  return merged;
}

function asObject(v: unknown, path: string, what: string): Record<string, unknown> {
  if (v === null || v === undefined) return {};
  if (typeof v !== 'object' || Array.isArray(v)) {
    throw new Error(`error loading config file "${path}": ${what} is not a mapping`);
  }
  return v as Record<string, unknown>;
}

function entries(
  doc: Record<string, unknown>,
  listKey: string,
  itemKey: string,
  path: string,
): Named<Record<string, unknown>>[] {
  const list = doc[listKey];
  if (list === null || list === undefined) return [];
  if (!Array.isArray(list)) {
    throw new Error(`error loading config file "${path}": ${listKey} is not a list`);
  }
  return list.map((item: unknown, i) => {
    const o = asObject(item, path, `${listKey}[${i}]`);
    if (typeof o.name !== 'string' || o.name === '') {
      throw new Error(`error loading config file "${path}": ${listKey}[${i}] has no name`);
    }
    return { name: o.name, value: asObject(o[itemKey], path, `${listKey}[${i}].${itemKey}`) };
  });
}

function abs(p: string | undefined, dir: string): string | undefined {
  if (!p) return p;
  return isAbsolute(p) ? p : resolvePath(dir, p);
}

function resolveClusterPaths(c: RawCluster, dir: string): RawCluster {
  const out = { ...c };
  if (out['certificate-authority'])
    out['certificate-authority'] = abs(out['certificate-authority'], dir);
  return out;
}

function resolveUserPaths(u: RawUser, dir: string): RawUser {
  const out: RawUser = { ...u };
  for (const key of ['client-certificate', 'client-key', 'tokenFile'] as const) {
    if (out[key]) out[key] = abs(out[key], dir);
  }
  // A bare command name is looked up on PATH; only a path with a separator
  // is taken relative to the file, as kubectl does.
  if (out.exec?.command && out.exec.command.includes('/')) {
    out.exec = { ...out.exec, command: abs(out.exec.command, dir) ?? out.exec.command };
  }
  return out;
}
