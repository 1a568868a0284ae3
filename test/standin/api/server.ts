// The stand-in Kubernetes API server: HTTPS with its own CA, bearer tokens,
// the REST API of the kinds in resources.ts, and the admission seam.
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { writeFile } from 'node:fs/promises';
import { noAdmission, type AdmissionChain, type KubeObject } from './admission-seam.ts';
import { newTokens } from './auth.ts';
import { DEFAULT_VERSION, type VersionInfo } from './discovery.ts';
import type { PodExec } from './exec.ts';
import { createHandler } from './http.ts';
import { Registry } from './registry.ts';
import { RESOURCES } from './resources.ts';
import { Store } from './store.ts';
import { createServingMaterial } from './tls.ts';

export interface ApiServerOptions {
  host?: string;
  port?: number;
  /** Cluster name: the kubeconfig's cluster and user entries are named after it. */
  name?: string;
  admission?: AdmissionChain;
  podLogs?: (ns: string, pod: string, container?: string) => Promise<string>;
  /** pods/exec: runs a command in a running container (the kubelet's part). */
  podExec?: PodExec;
  /** Default: the fixtures' 1.24. */
  version?: VersionInfo;
  /** Events a watch can replay; older resourceVersions get 410 Expired. Default 5000. */
  watchHistory?: number;
  /**
   * Drop `kubernetes.io/pvc-protection` from a deleted claim no running pod
   * mounts, and `kubernetes.io/pv-protection` from a deleted volume that is not
   * Bound, as kube-controller-manager does. Default true.
   */
  protectionControllers?: boolean;
  /** Interval of BOOKMARK events for watches that allow them. Default 10 s. */
  bookmarkIntervalMs?: number;
  /**
   * API groups not served, as on a cluster without their CRDs (e.g.
   * `snapshot.storage.k8s.io` without the external-snapshotter): discovery
   * leaves them out and every path below /apis/GROUP is a 404.
   */
  unservedGroups?: string[];
}

export interface ApiServer {
  url: string;
  caPem: string;
  /** Admin token (system:masters). */
  token: string;
  /** A token that may only get, list and watch. */
  readOnlyToken: string;
  kubeconfig(context: string, namespace?: string): object;
  writeKubeconfig(path: string, context: string): Promise<void>;
  /** Waits until garbage collection and namespace cleanup triggered so far have run. */
  settled(): Promise<void>;
  stop(): Promise<void>;
}

const SYSTEM_NAMESPACES = ['default', 'kube-system', 'kube-public', 'kube-node-lease'];

export async function startApiServer(o: ApiServerOptions = {}): Promise<ApiServer> {
  const name = o.name ?? 'standin';
  const host = o.host ?? '127.0.0.1';
  const tls = createServingMaterial(name);
  const tokens = newTokens();
  const store = new Store(o.watchHistory ?? 5000);
  const registry = new Registry(store, o.admission ?? noAdmission);
  registry.caPem = tls.caPem;
  registry.protectionControllers = o.protectionControllers ?? true;
  let address = '';
  const handler = createHandler({
    store,
    registry,
    tokens,
    version: o.version ?? DEFAULT_VERSION,
    serverAddress: () => address,
    podLogs: o.podLogs,
    podExec: o.podExec,
    bookmarkIntervalMs: o.bookmarkIntervalMs ?? 10_000,
    unservedGroups: o.unservedGroups ?? [],
  });
  const server: Server = createServer({ cert: tls.certPem, key: tls.keyPem }, handler.handle);
  server.on('upgrade', handler.upgrade);
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port ?? 0, host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  address = `${host.includes(':') ? `[${host}]` : host}:${port}`;
  const url = `https://${address}`;

  // The namespaces every cluster starts with, created through the API path (no admission: the cluster is booting).
  const nsType = RESOURCES.find((r) => r.resource === 'namespaces')!;
  const boot = {
    user: { username: 'system:apiserver', groups: ['system:masters'] },
    dryRun: false,
  };
  for (const ns of SYSTEM_NAMESPACES) {
    await registry.create(nsType, undefined, { metadata: { name: ns } } as KubeObject, boot);
  }
  await registry.settled();

  const kubeconfig = (context: string, namespace?: string): object => {
    const ctx: Record<string, string> = { cluster: name, user: `${name}-admin` };
    if (namespace) ctx.namespace = namespace;
    return {
      apiVersion: 'v1',
      kind: 'Config',
      preferences: {},
      clusters: [
        {
          name,
          cluster: {
            server: url,
            'certificate-authority-data': Buffer.from(tls.caPem).toString('base64'),
          },
        },
      ],
      users: [{ name: `${name}-admin`, user: { token: tokens.admin } }],
      contexts: [{ name: context, context: ctx }],
      'current-context': context,
    };
  };

  return {
    url,
    caPem: tls.caPem,
    token: tokens.admin,
    readOnlyToken: tokens.readOnly,
    kubeconfig,
    async writeKubeconfig(path: string, context: string): Promise<void> {
      await writeFile(path, `${JSON.stringify(kubeconfig(context), null, 2)}\n`, { mode: 0o600 });
    },
    settled: () => registry.settled(),
    async stop(): Promise<void> {
      registry.stop();
      handler.closeWatches();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}

interface KubeconfigShape {
  clusters: { name: string }[];
  users: { name: string }[];
  contexts: { name: string }[];
  'current-context'?: string;
}

/**
 * One kubeconfig holding several stand-ins' clusters, users and contexts (a
 * source and a destination cluster, as `kubectl scribe` sees them); the
 * current context is the first one's. Names must not collide: give each
 * server its own `name`.
 */
export function mergeKubeconfigs(...configs: object[]): object {
  const all = configs as KubeconfigShape[];
  const merged = {
    apiVersion: 'v1',
    kind: 'Config',
    preferences: {},
    clusters: all.flatMap((c) => c.clusters),
    users: all.flatMap((c) => c.users),
    contexts: all.flatMap((c) => c.contexts),
    'current-context': all[0]?.['current-context'] ?? '',
  };
  for (const key of ['clusters', 'users', 'contexts'] as const) {
    const names = merged[key].map((e) => e.name);
    const dup = names.find((n, i) => names.indexOf(n) !== i);
    if (dup)
      throw new Error(
        `mergeKubeconfigs: two ${key} are named "${dup}"; give each server its own name`,
      );
  }
  return merged;
}
