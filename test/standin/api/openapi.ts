// A minimal OpenAPI v3 surface. kubectl create/apply validate with
// --validate=strict by default: kubectl asks /openapi/v3 whether the server
// accepts the `fieldValidation` query parameter (it looks for a PATCH
// operation tagged with the kind's x-kubernetes-group-version-kind) and, if
// so, leaves validation to the server. Without any OpenAPI it refuses to
// create ("failed to download openapi"). The documents carry no schemas:
// client-side apply then computes strategic merge patches from kubectl's
// compiled-in types (and JSON merge patches for the snapshot kinds), and
// /openapi/v2 stays 404.
import { createHash } from 'node:crypto';
import { RESOURCES, type ResourceType } from './resources.ts';

const QUERY_PARAMS = ['dryRun', 'fieldManager', 'fieldValidation', 'force', 'pretty'];

function itemPath(r: ResourceType): string {
  const base = r.group === '' ? `/api/${r.version}` : `/apis/${r.group}/${r.version}`;
  return r.namespaced
    ? `${base}/namespaces/{namespace}/${r.resource}/{name}`
    : `${base}/${r.resource}/{name}`;
}

/** "api/v1", "apis/apps/v1": the keys of the v3 root. */
export function groupVersionPath(r: Pick<ResourceType, 'group' | 'version'>): string {
  return r.group === '' ? `api/${r.version}` : `apis/${r.group}/${r.version}`;
}

export function groupVersionDocument(gvPath: string): object | undefined {
  const rs = RESOURCES.filter((r) => groupVersionPath(r) === gvPath);
  if (rs.length === 0) return undefined;
  const paths: Record<string, object> = {};
  for (const r of rs) {
    paths[itemPath(r)] = {
      patch: {
        description: `partially update the specified ${r.kind}`,
        operationId: `patch${r.kind}`,
        parameters: QUERY_PARAMS.map((name) => ({
          name,
          in: 'query',
          schema: { type: name === 'force' ? 'boolean' : 'string', uniqueItems: true },
        })),
        responses: {
          '200': { description: 'OK' },
          '201': { description: 'Created' },
          '401': { description: 'Unauthorized' },
        },
        'x-kubernetes-action': 'patch',
        'x-kubernetes-group-version-kind': { group: r.group, version: r.version, kind: r.kind },
      },
    };
  }
  return {
    openapi: '3.0.0',
    info: { title: 'Kubernetes', version: 'v1.24.0' },
    paths,
    components: { schemas: {} },
  };
}

function hashOf(doc: object): string {
  return createHash('sha512').update(JSON.stringify(doc)).digest('hex').toUpperCase();
}

export function rootDocument(): object {
  const paths: Record<string, { serverRelativeURL: string }> = {};
  for (const gv of new Set(RESOURCES.map((r) => groupVersionPath(r)))) {
    paths[gv] = {
      serverRelativeURL: `/openapi/v3/${gv}?hash=${hashOf(groupVersionDocument(gv)!)}`,
    };
  }
  return { paths };
}
