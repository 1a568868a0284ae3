// One stand-in cluster: the API server, a node's worth of real storage, and
// every controller (provisioner, snapshotter, kubelet, Jobs and Deployments,
// Services), seeded with the StorageClasses and VolumeSnapshotClass the
// tests and the sandbox use.

import { mkdir } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import type {
  V1MutatingWebhookConfiguration,
  V1Namespace,
  V1StorageClass,
  V1ValidatingWebhookConfiguration,
} from '@kubernetes/client-node';
import { ApiError, type AdmissionChain } from './api/admission-seam.ts';
import { startApiServer, type ApiServer } from './api/server.ts';
import { addressPool } from './controllers/addresses.ts';
import {
  isAlreadyExists,
  isNotFound,
  makeClients,
  type Clients,
  type Logger,
} from './controllers/kube.ts';
import { startKubelet, type Kubelet } from './controllers/kubelet.ts';
import {
  ANN_DEFAULT_SNAPSHOT_CLASS,
  ANN_DEFAULT_STORAGE_CLASS,
  DRIVER,
  SNAPSHOT_GROUP,
  SNAPSHOT_VERSION,
} from './controllers/names.ts';
import { startProvisioner, type Controller } from './controllers/provisioner.ts';
import {
  startServiceController,
  type ServiceController,
} from './controllers/service-controller.ts';
import { startSnapshotter } from './controllers/snapshotter.ts';
import type { VolumeSnapshotClass } from './controllers/snapshots.ts';
import { startWorkloadControllers } from './controllers/workload-controllers.ts';
import { openPool, type Pool } from './storage/pool.ts';
import { openVolumeStore, type VolumeStore } from './storage/volumes.ts';

/** The class with clone and snapshot support (the cluster's default). */
export const CSI_CLASS = 'standin-csi';
/** A class whose volumes can be neither cloned nor snapshotted. */
export const BASIC_CLASS = 'standin-basic';
export const SNAPSHOT_CLASS = 'standin-snapclass';

export interface ClusterOptions {
  name: string;
  /** Working directory: storage, pods' files and logs. */
  dir: string;
  /**
   * Which loopback blocks the cluster's addresses come from: pods
   * 127.(10+n), services 127.(40+n), load balancers 127.(70+n), the node
   * 127.(100+n).0.1. Default: a new n per cluster, starting at this process's pid modulo 30,
   * skipping blocks other processes hold (claimBlock).
   */
  addressBlock?: number;
  /** Pods of other images run `sleep` instead of staying Pending. */
  noopOtherImages?: boolean;
  /**
   * The admission chain, given what it needs from the cluster; the stand-in's
   * own is `createAdmissionChain` (the two-cluster CLI and the sandbox use it).
   */
  admission?: (deps: AdmissionDeps) => AdmissionChain;
  /** Size of the node's sparse XFS disk (default 4096 MiB). */
  storageSizeMiB?: number;
  /**
   * The snapshot CRDs are installed (default true). Without them the cluster
   * is one without the external-snapshotter: snapshot.storage.k8s.io is not
   * served, and there is no snapshot controller and no VolumeSnapshotClass.
   */
  snapshotApi?: boolean;
  log?: Logger;
}

/** What an admission chain reads from the cluster it sits in. */
export interface AdmissionDeps {
  /** The stored webhook configurations, read on every call (nothing to go stale). */
  webhookConfigurations(): Promise<{
    mutating: V1MutatingWebhookConfiguration[];
    validating: V1ValidatingWebhookConfiguration[];
  }>;
  /** The stored namespace, or undefined when there is none. */
  namespace(name: string): Promise<V1Namespace | undefined>;
  /** A webhook Service's local address; rejects with the reason (`service "x" not found`). */
  resolveService(ref: {
    namespace: string;
    name: string;
    port: number;
  }): Promise<{ host: string; port: number }>;
}

export type ResolveService = (
  namespace: string,
  name: string,
  port: number,
) => { host: string; port: number } | undefined;

export interface Cluster {
  name: string;
  nodeName: string;
  api: ApiServer;
  /** A kubeconfig object for this cluster, its context named `context` (default: the cluster's name). */
  kubeconfig(context?: string): object;
  clients: Clients;
  pool: Pool;
  store: VolumeStore;
  kubelet: Kubelet;
  /** Where a connection to a Service's port goes (the admission chain calls webhooks through it). */
  resolveService: ResolveService;
  /** Resolves when every controller's queue is empty. */
  idle(): Promise<void>;
  stop(): Promise<void>;
}

// Test processes that run at the same time (parallel suites, several
// checkouts on one machine) would otherwise all start at block 0: each starts
// where its pid says, and claimBlock makes sure no two share one.
const blocks = 30;
let nextBlock = process.pid % blocks;
/** The port of the listener by which a process holds its block (below NodePorts). */
export const blockLockPort = 29_999;

/**
 * Claims an address block for a cluster, across processes: a listener on the
 * block's node address, which the kernel gives to one process at a time and
 * takes back when that process exits, however it ends. Blocks picked from the
 * pid alone collided between parallel test files: two pods on one address
 * and port, one of them crash-looping on EADDRINUSE and its suite's syncs
 * timing out.
 */
export async function claimBlock(wanted?: number): Promise<{ block: number; lock: Server }> {
  for (let tries = 0; tries < blocks; tries++) {
    const block = wanted ?? nextBlock++ % blocks;
    const lock = createServer();
    try {
      await new Promise<void>((resolve, reject) => {
        lock.once('error', reject);
        lock.listen({ host: `127.${100 + block}.0.1`, port: blockLockPort, exclusive: true }, () =>
          resolve(),
        );
      });
      lock.unref();
      return { block, lock };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw err;
      if (wanted !== undefined)
        throw new Error(
          `address block ${wanted} (127.${100 + wanted}.0.1) is held by another stand-in cluster: ` +
            'pick another block, or leave the choice to the stand-in',
          { cause: err },
        );
    }
  }
  throw new Error(`all ${blocks} address blocks are held by other stand-in clusters`);
}

const badRequest = (message: string): ApiError =>
  new ApiError({
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    message,
    reason: 'BadRequest',
    code: 400,
  });

export function storageClasses(): V1StorageClass[] {
  const base = {
    apiVersion: 'storage.k8s.io/v1',
    kind: 'StorageClass',
    provisioner: DRIVER,
    reclaimPolicy: 'Delete',
    volumeBindingMode: 'Immediate',
    allowVolumeExpansion: false,
  };
  return [
    {
      ...base,
      metadata: { name: CSI_CLASS, annotations: { [ANN_DEFAULT_STORAGE_CLASS]: 'true' } },
      parameters: { clone: 'true', snapshot: 'true' },
    },
    { ...base, metadata: { name: BASIC_CLASS }, parameters: { clone: 'false', snapshot: 'false' } },
  ];
}

export function snapshotClass(): VolumeSnapshotClass {
  return {
    apiVersion: `${SNAPSHOT_GROUP}/${SNAPSHOT_VERSION}`,
    kind: 'VolumeSnapshotClass',
    metadata: { name: SNAPSHOT_CLASS, annotations: { [ANN_DEFAULT_SNAPSHOT_CLASS]: 'true' } },
    driver: DRIVER,
    deletionPolicy: 'Delete',
  };
}

export async function startCluster(o: ClusterOptions): Promise<Cluster> {
  const { block, lock } = await claimBlock(o.addressBlock);
  const log = o.log ?? ((m: string) => console.error(`[${o.name}] ${m}`));
  const nodeName = `${o.name}-node`;
  // The node's address: its InternalIP, and where NodePort services listen.
  const nodeAddress = `127.${100 + block}.0.1`;
  await mkdir(o.dir, { recursive: true });
  // Stopped in reverse: the block is let go last.
  const stops: Array<() => Promise<void>> = [
    () => new Promise<void>((resolve) => lock.close(() => resolve())),
  ];
  const stopAll = async (): Promise<void> => {
    const errors: unknown[] = [];
    for (const stop of stops.reverse()) await stop().catch((e: unknown) => errors.push(e));
    stops.length = 0;
    if (errors.length > 0)
      throw new AggregateError(errors, `stand-in cluster ${o.name}: incomplete stop`);
  };

  try {
    const pool = await openPool({
      dir: join(o.dir, 'storage'),
      sizeMiB: o.storageSizeMiB,
      warn: log,
    });
    stops.push(() => pool.close());
    const store = openVolumeStore(pool);
    stops.push(() => store.close());

    // Started after the API server, which needs these hooks first.
    const late: { kubelet?: Kubelet; services?: ServiceController } = {};
    const resolveService: ResolveService = (ns, name, port) =>
      late.services?.resolve(ns, name, port);
    // The chain is called only on writes, which come after `clients` is set below.
    const ref: { clients?: Clients } = {};
    const api0 = (): Clients => {
      if (ref.clients === undefined) throw new Error('the stand-in cluster is still starting');
      return ref.clients;
    };
    const deps: AdmissionDeps = {
      async webhookConfigurations() {
        // While the cluster seeds itself nobody can have registered a webhook.
        if (ref.clients === undefined) return { mutating: [], validating: [] };
        const c = api0();
        const [m, v] = await Promise.all([
          c.admission.listMutatingWebhookConfiguration(),
          c.admission.listValidatingWebhookConfiguration(),
        ]);
        return { mutating: m.items, validating: v.items };
      },
      async namespace(name) {
        return api0()
          .core.readNamespace({ name })
          .catch((err: unknown) => {
            if (isNotFound(err)) return undefined;
            throw err;
          });
      },
      async resolveService({ namespace, name, port }) {
        const svc = await api0()
          .core.readNamespacedService({ name, namespace })
          .catch((err: unknown) => {
            throw isNotFound(err) ? new Error(`service "${name}" not found`) : err;
          });
        if (!(svc.spec?.ports ?? []).some((p) => p.port === port)) {
          throw new Error(`no service port ${port} found for service "${name}"`);
        }
        // A Service just created may not have its proxy yet: wait a little, bounded.
        for (let i = 0; i < 40; i++) {
          const at = resolveService(namespace, name, port);
          if (at !== undefined) return at;
          await new Promise((r) => setTimeout(r, 50));
        }
        throw new Error(`service "${name}" in namespace "${namespace}" has no proxy yet`);
      },
    };
    const snapshotApi = o.snapshotApi ?? true;
    const api = await startApiServer({
      name: o.name,
      unservedGroups: snapshotApi ? [] : [SNAPSHOT_GROUP],
      admission: o.admission?.(deps),
      podExec: async (r) => {
        if (late.kubelet === undefined) throw badRequest('the kubelet is not running');
        try {
          return await late.kubelet.exec(r);
        } catch (err) {
          throw badRequest(`unable to upgrade connection: ${(err as Error).message}`);
        }
      },
      podLogs: async (ns, pod, container) => {
        if (late.kubelet === undefined) throw badRequest('the kubelet is not running');
        try {
          return await late.kubelet.logs(ns, pod, container);
        } catch (err) {
          // The API server has found the pod; what the kubelet refuses is a bad request, as in a real cluster.
          throw badRequest((err as Error).message);
        }
      },
    });
    stops.push(() => api.stop());
    const clients = makeClients(api.kubeconfig(o.name));
    ref.clients = clients;

    for (const sc of storageClasses()) {
      await clients.storage.createStorageClass({ body: sc }).catch((err: unknown) => {
        if (!isAlreadyExists(err)) throw err;
      });
    }
    if (snapshotApi) {
      await clients.custom.createClusterCustomObject({
        group: SNAPSHOT_GROUP,
        version: SNAPSHOT_VERSION,
        plural: 'volumesnapshotclasses',
        body: snapshotClass(),
      });
    }

    const controllers: Controller[] = [];
    const controllerLog = (what: string) => (m: string) => log(`${what}: ${m}`);
    const add = <T extends Controller>(c: T): T => {
      controllers.push(c);
      stops.push(() => c.stop());
      return c;
    };
    add(
      await startProvisioner({
        clients,
        store,
        nodeName,
        snapshotApi,
        log: controllerLog('provisioner'),
      }),
    );
    if (snapshotApi) {
      add(await startSnapshotter({ clients, store, log: controllerLog('snapshotter') }));
    }
    add(await startWorkloadControllers({ clients, log: controllerLog('workloads') }));
    late.services = add(
      await startServiceController({
        clients,
        clusterAddresses: addressPool(40 + block),
        nodeAddress,
        loadBalancerAddresses: addressPool(70 + block),
        log: controllerLog('services'),
      }),
    );
    // The kubelet stops first (stops run in reverse): processes end before their volumes go.
    const kubelet = add(
      await startKubelet({
        clients,
        nodeName,
        addresses: addressPool(10 + block),
        nodeAddress,
        dir: join(o.dir, 'pods'),
        api: { url: api.url, caPem: api.caPem, token: api.token },
        noopOtherImages: o.noopOtherImages,
        log: controllerLog('kubelet'),
      }),
    );
    late.kubelet = kubelet;
    return {
      name: o.name,
      nodeName,
      api,
      kubeconfig: (context = o.name) => api.kubeconfig(context),
      clients,
      pool,
      store,
      kubelet,
      resolveService,
      idle: async () => {
        for (const c of controllers) await c.idle();
      },
      stop: stopAll,
    };
  } catch (err) {
    await stopAll().catch(() => undefined);
    throw err;
  }
}
