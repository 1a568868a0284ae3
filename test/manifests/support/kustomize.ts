// The manifests as `kubectl apply -k` sends them: kubectl's own kustomize,
// offline, for the base and every overlay.
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';

export const ROOT = join(import.meta.dirname, '../../..');
export const MANIFESTS = join(ROOT, 'manifests');
export const BUILDS = ['base', 'overlays/kube-1.24-to-1.27', 'overlays/cert-manager'] as const;
export type Build = (typeof BUILDS)[number];

export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
  [field: string]: unknown;
}

export function kustomize(dir: string): KubeObject[] {
  const out = execFileSync('kubectl', ['kustomize', dir], { encoding: 'utf8', timeout: 60_000 });
  return parseAllDocuments(out).map((d) => d.toJS() as KubeObject);
}

export function buildAll(): Map<Build, KubeObject[]> {
  return new Map(BUILDS.map((b) => [b, kustomize(join(MANIFESTS, b))]));
}

export function find<T>(objs: KubeObject[], kind: string, name: string): T {
  const o = objs.find((x) => x.kind === kind && x.metadata.name === name);
  if (!o) throw new Error(`no ${kind} ${name} in the build`);
  return o as unknown as T;
}
