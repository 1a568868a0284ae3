// Services' decisions: which pods back a service and on which port, and the
// Endpoints object that says so. Pure.

import type {
  V1Endpoints,
  V1EndpointSubset,
  V1Pod,
  V1Service,
  V1ServicePort,
} from '@kubernetes/client-node';

export function selects(
  selector: Record<string, string> | undefined,
  labels: Record<string, string> | undefined,
): boolean {
  if (selector === undefined || Object.keys(selector).length === 0) return false; // no selector: endpoints are someone else's
  return Object.entries(selector).every(([k, v]) => labels?.[k] === v);
}

export const podReady = (p: V1Pod): boolean =>
  !p.metadata?.deletionTimestamp &&
  p.status?.phase === 'Running' &&
  !!p.status.podIP &&
  (p.status.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');

/** The port a service port reaches on a pod: a number, or a named container port (undefined when the pod has none). */
export function targetPortOn(sp: V1ServicePort, pod: V1Pod): number | undefined {
  const t = sp.targetPort ?? sp.port;
  if (typeof t === 'number') return t;
  if (/^\d+$/.test(t)) return Number(t);
  for (const c of pod.spec?.containers ?? []) {
    const p = (c.ports ?? []).find(
      (x) => x.name === t && (x.protocol ?? 'TCP') === (sp.protocol ?? 'TCP'),
    );
    if (p !== undefined) return p.containerPort;
  }
  return undefined;
}

export function backingPods(svc: V1Service, pods: readonly V1Pod[]): V1Pod[] {
  return pods.filter(
    (p) =>
      p.metadata?.namespace === svc.metadata?.namespace &&
      selects(svc.spec?.selector, p.metadata?.labels) &&
      p.status?.phase !== 'Succeeded' &&
      p.status?.phase !== 'Failed' &&
      !!p.status?.podIP,
  );
}

/** The Endpoints object of a service: ready pods in addresses, the others in notReadyAddresses. */
export function endpointsFor(svc: V1Service, pods: readonly V1Pod[]): V1Endpoints {
  const groups = new Map<string, V1EndpointSubset>();
  for (const pod of backingPods(svc, pods)) {
    const ports = (svc.spec?.ports ?? []).flatMap((sp) => {
      const port = targetPortOn(sp, pod);
      return port === undefined ? [] : [{ name: sp.name, port, protocol: sp.protocol ?? 'TCP' }];
    });
    if (ports.length === 0) continue;
    const key = JSON.stringify(ports);
    const subset = groups.get(key) ?? { ports, addresses: [], notReadyAddresses: [] };
    groups.set(key, subset);
    const addr = {
      ip: pod.status?.podIP ?? '',
      nodeName: pod.spec?.nodeName,
      targetRef: {
        kind: 'Pod',
        namespace: pod.metadata?.namespace,
        name: pod.metadata?.name,
        uid: pod.metadata?.uid,
      },
    };
    (podReady(pod) ? subset.addresses : subset.notReadyAddresses)?.push(addr);
  }
  const subsets = [...groups.values()].map((s) => ({
    ports: s.ports,
    ...(s.addresses?.length ? { addresses: s.addresses } : {}),
    ...(s.notReadyAddresses?.length ? { notReadyAddresses: s.notReadyAddresses } : {}),
  }));
  return {
    apiVersion: 'v1',
    kind: 'Endpoints',
    metadata: {
      name: svc.metadata?.name,
      namespace: svc.metadata?.namespace,
      labels: svc.metadata?.labels,
    },
    subsets,
  };
}

/** Where a connection to a service port goes: one ready pod, taken in turn (round robin by `turn`). */
export function pickBackend(
  svc: V1Service,
  port: number,
  pods: readonly V1Pod[],
  turn: number,
): { host: string; port: number } | undefined {
  const sp = (svc.spec?.ports ?? []).find((p) => p.port === port);
  if (sp === undefined) return undefined;
  const ready = backingPods(svc, pods)
    .filter(podReady)
    .flatMap((p) => {
      const t = targetPortOn(sp, p);
      return t === undefined ? [] : [{ host: p.status?.podIP as string, port: t }];
    });
  return ready.length === 0 ? undefined : ready[turn % ready.length];
}
