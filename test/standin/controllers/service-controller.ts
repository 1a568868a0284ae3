// Services that resolve to where their pods listen: each Service gets a
// ClusterIP-like loopback address (spec.clusterIP when the API left it to
// us) with a real TCP proxy on every port, a LoadBalancer one more address
// recorded in status.loadBalancer.ingress, and Endpoints listing its pods.

import type { V1Endpoints, V1Pod, V1Service } from '@kubernetes/client-node';
import type { AddressPool } from './addresses.ts';
import {
  isAlreadyExists,
  isNotFound,
  keyOf,
  mergePatch,
  splitKey,
  stableJson,
  watchResource,
  workQueue,
  type Cache,
  type Clients,
  type Logger,
} from './kube.ts';
import type { Controller } from './provisioner.ts';
import { endpointsFor, pickBackend, selects } from './services.ts';
import { startTcpProxy, type TcpProxy } from './tcp-proxy.ts';

export interface ServiceOptions {
  clients: Clients;
  /** Addresses for services inside the cluster. */
  clusterAddresses: AddressPool;
  /** Addresses for LoadBalancer services (reachable from anywhere on this host, e.g. the other cluster). */
  loadBalancerAddresses: AddressPool;
  log?: Logger;
  resyncMs?: number;
}

export interface ServiceController extends Controller {
  /** Where a connection to a service's port goes: the proxy in front of its pods. */
  resolve(
    namespace: string,
    name: string,
    port: number,
  ): { host: string; port: number } | undefined;
}

interface Served {
  uid: string;
  clusterIP: string;
  lbIP?: string;
  ports: Map<string, TcpProxy>;
  turn: number;
}

export async function startServiceController(opts: ServiceOptions): Promise<ServiceController> {
  const { clients } = opts;
  const log = opts.log ?? ((m: string) => console.error(`[services] ${m}`));
  const served = new Map<string, Served>();
  const queue = workQueue(reconcile, log);
  const services: Cache<V1Service> = await watchResource(
    clients.kc,
    '/api/v1/services',
    () => clients.core.listServiceForAllNamespaces(),
    (s) => queue.add(keyOf(s)),
    log,
  );
  const pods: Cache<V1Pod> = await watchResource(
    clients.kc,
    '/api/v1/pods',
    () => clients.core.listPodForAllNamespaces(),
    (p) => {
      for (const s of services.list(p.metadata?.namespace)) {
        if (selects(s.spec?.selector, p.metadata?.labels)) queue.add(keyOf(s));
      }
    },
    log,
  );
  const endpoints: Cache<V1Endpoints> = await watchResource(
    clients.kc,
    '/api/v1/endpoints',
    () => clients.core.listEndpointsForAllNamespaces(),
    () => undefined,
    log,
  );
  const resync = setInterval(() => {
    for (const s of services.list()) queue.add(keyOf(s));
    for (const k of served.keys()) queue.add(k);
  }, opts.resyncMs ?? 1_000);

  async function release(key: string): Promise<void> {
    const s = served.get(key);
    if (s === undefined) return;
    served.delete(key);
    await Promise.all([...s.ports.values()].map((p) => p.close()));
    opts.clusterAddresses.release(s.clusterIP);
    if (s.lbIP !== undefined) opts.loadBalancerAddresses.release(s.lbIP);
  }

  async function reconcile(key: string): Promise<void> {
    const { namespace, name } = splitKey(key);
    const svc = services.get(name, namespace);
    if (
      svc === undefined ||
      svc.metadata?.deletionTimestamp ||
      (served.get(key)?.uid ?? svc.metadata?.uid) !== svc.metadata?.uid
    ) {
      await release(key);
      if (svc === undefined) {
        await clients.core.deleteNamespacedEndpoints({ name, namespace }).catch((err: unknown) => {
          if (!isNotFound(err)) throw err;
        });
        return;
      }
    }
    if (svc.spec?.clusterIP === 'None' || svc.spec?.type === 'ExternalName') return;
    let s = served.get(key);
    if (s === undefined) {
      const mine = svc.spec?.clusterIP;
      s = {
        uid: svc.metadata?.uid ?? '',
        clusterIP: opts.clusterAddresses.take(),
        ports: new Map(),
        turn: 0,
      };
      served.set(key, s);
      if (!mine) {
        await clients.core.patchNamespacedService(
          {
            name,
            namespace,
            body: { spec: { clusterIP: s.clusterIP, clusterIPs: [s.clusterIP] } },
          },
          mergePatch,
        );
      } else if (mine !== s.clusterIP) {
        log(`service ${key}: clusterIP ${mine} was set by the API; it is served at ${s.clusterIP}`);
      }
    }
    const entry = s;
    const wantLb = svc.spec?.type === 'LoadBalancer';
    if (wantLb && entry.lbIP === undefined) entry.lbIP = opts.loadBalancerAddresses.take();
    // One proxy per address and service port.
    const wanted = new Map<string, { host: string; port: number }>();
    for (const sp of svc.spec?.ports ?? []) {
      if ((sp.protocol ?? 'TCP') !== 'TCP') continue;
      wanted.set(`${entry.clusterIP}:${sp.port}`, { host: entry.clusterIP, port: sp.port });
      if (wantLb && entry.lbIP)
        wanted.set(`${entry.lbIP}:${sp.port}`, { host: entry.lbIP, port: sp.port });
    }
    for (const [k, p] of entry.ports) {
      if (!wanted.has(k)) {
        entry.ports.delete(k);
        await p.close();
      }
    }
    for (const [k, w] of wanted) {
      if (entry.ports.has(k)) continue;
      const proxy = await startTcpProxy(w.host, w.port, () => {
        const live = services.get(name, namespace);
        return live === undefined
          ? undefined
          : pickBackend(live, w.port, pods.list(namespace), entry.turn++);
      });
      entry.ports.set(k, proxy);
    }
    if (wantLb && svc.status?.loadBalancer?.ingress?.[0]?.ip !== entry.lbIP) {
      await clients.core.patchNamespacedServiceStatus(
        { name, namespace, body: { status: { loadBalancer: { ingress: [{ ip: entry.lbIP }] } } } },
        mergePatch,
      );
    }
    // Endpoints, for people and tools that look (kubectl get endpoints).
    if (svc.spec?.selector && Object.keys(svc.spec.selector).length > 0) {
      const want = endpointsFor(svc, pods.list(namespace));
      const have = endpoints.get(name, namespace);
      if (have === undefined) {
        await clients.core
          .createNamespacedEndpoints({ namespace, body: want })
          .catch(async (err: unknown) => {
            if (!isAlreadyExists(err)) throw err;
          });
      } else if (stableJson(have.subsets ?? []) !== stableJson(want.subsets ?? [])) {
        await clients.core.replaceNamespacedEndpoints({
          name,
          namespace,
          body: {
            ...want,
            metadata: { ...want.metadata, resourceVersion: have.metadata?.resourceVersion },
          },
        });
      }
    }
  }

  return {
    resolve(namespace, name, port) {
      const s = served.get(`${namespace}/${name}`);
      const svc = services.get(name, namespace);
      if (s === undefined || !(svc?.spec?.ports ?? []).some((p) => p.port === port))
        return undefined;
      return { host: s.clusterIP, port };
    },
    idle: () => queue.idle(),
    async stop() {
      clearInterval(resync);
      await queue.stop();
      for (const k of [...served.keys()]) await release(k);
      await Promise.all([pods, services, endpoints].map((c) => c.stop()));
    },
  };
}
