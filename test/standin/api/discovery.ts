// Discovery documents in the legacy (pre-aggregated) shape kube-apiserver 1.24
// serves; kubectl 1.32 asks for aggregated discovery first and falls back to
// these when the answer is plain application/json (fixtures/kube-1.24/discovery).
import { GROUP_ORDER, RESOURCES, apiVersionOf, type ResourceType } from './resources.ts';

export interface VersionInfo {
  major: string;
  minor: string;
  gitVersion: string;
}

export const DEFAULT_VERSION: VersionInfo = { major: '1', minor: '24', gitVersion: 'v1.24.0+0' };

export function versionDocument(v: VersionInfo): object {
  return {
    major: v.major,
    minor: v.minor,
    gitVersion: v.gitVersion,
    gitCommit: '2cc6ddc68588debdbb6806e1b57e73207505324f',
    gitTreeState: 'clean',
    buildDate: '2022-05-06T09:44:28Z',
    goVersion: 'go1.19.8',
    compiler: 'gc',
    platform: 'linux/amd64',
  };
}

export function apiVersionsDocument(serverAddress: string): object {
  return {
    kind: 'APIVersions',
    versions: ['v1'],
    serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress }],
  };
}

// Reviews are created and answered, never stored: not in the kind table.
const REVIEW_GROUP = 'authorization.k8s.io';
const REVIEWS = ['selfsubjectaccessreviews', 'subjectaccessreviews'];
const REVIEW_KINDS: Record<string, string> = {
  selfsubjectaccessreviews: 'SelfSubjectAccessReview',
  subjectaccessreviews: 'SubjectAccessReview',
};

export function groups(): string[] {
  const present = new Set(RESOURCES.map((r) => r.group).filter((g) => g !== ''));
  present.add(REVIEW_GROUP);
  return GROUP_ORDER.filter((g) => present.has(g));
}

function groupEntry(group: string): object {
  const gv = { groupVersion: `${group}/v1`, version: 'v1' };
  return { name: group, versions: [gv], preferredVersion: gv };
}

/** /apis; `unserved` groups are left out (a cluster without those CRDs). */
export function apiGroupListDocument(unserved: readonly string[] = []): object {
  return {
    kind: 'APIGroupList',
    apiVersion: 'v1',
    groups: groups()
      .filter((g) => !unserved.includes(g))
      .map(groupEntry),
  };
}

export function apiGroupDocument(group: string): object | undefined {
  if (!groups().includes(group)) return undefined;
  return { kind: 'APIGroup', apiVersion: 'v1', ...groupEntry(group) };
}

function resourceEntry(r: ResourceType): object {
  const e: Record<string, unknown> = {
    name: r.resource,
    singularName: r.singularName ?? '',
    namespaced: r.namespaced,
    kind: r.kind,
    verbs: r.verbs,
  };
  if (r.shortNames) e.shortNames = r.shortNames;
  if (r.categories) e.categories = r.categories;
  if (r.storageVersionHash) e.storageVersionHash = r.storageVersionHash;
  return e;
}

function subresourceEntries(r: ResourceType): object[] {
  const out: object[] = [];
  if (r.log)
    out.push({
      name: `${r.resource}/log`,
      singularName: '',
      namespaced: true,
      kind: r.kind,
      verbs: ['get'],
    });
  if (r.log)
    out.push({
      name: `${r.resource}/exec`,
      singularName: '',
      namespaced: true,
      kind: 'PodExecOptions',
      verbs: ['create', 'get'],
    });
  if (r.status) {
    out.push({
      name: `${r.resource}/status`,
      singularName: '',
      namespaced: r.namespaced,
      kind: r.kind,
      verbs: ['get', 'patch', 'update'],
    });
  }
  return out;
}

/** /api/v1 or /apis/G/v1: the resources and subresources of one group version. */
export function resourceListDocument(group: string, version: string): object | undefined {
  if (group === REVIEW_GROUP && version === 'v1') {
    return {
      kind: 'APIResourceList',
      apiVersion: 'v1',
      groupVersion: `${REVIEW_GROUP}/v1`,
      resources: REVIEWS.map((name) => ({
        name,
        singularName: '',
        namespaced: false,
        kind: REVIEW_KINDS[name],
        verbs: ['create'],
      })),
    };
  }
  const rs = RESOURCES.filter((r) => r.group === group && r.version === version).sort((a, b) =>
    a.resource.localeCompare(b.resource),
  );
  if (rs.length === 0) return undefined;
  const doc: Record<string, unknown> = { kind: 'APIResourceList' };
  // The core list has no apiVersion field; group lists do.
  if (group !== '') doc.apiVersion = 'v1';
  doc.groupVersion = apiVersionOf({ group, version });
  doc.resources = rs.flatMap((r) => [resourceEntry(r), ...subresourceEntries(r)]);
  return doc;
}
