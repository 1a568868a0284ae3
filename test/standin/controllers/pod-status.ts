// A pod's status as the kubelet reports it, from what its containers did.

import type {
  V1ContainerStatus,
  V1Pod,
  V1PodCondition,
  V1PodStatus,
} from '@kubernetes/client-node';

export type ContainerState =
  | { state: 'waiting'; reason: string; message?: string }
  | { state: 'running'; startedAt: Date; ready: boolean }
  | {
      state: 'terminated';
      exitCode: number;
      signal?: string;
      reason: string;
      startedAt: Date;
      finishedAt: Date;
    };

export interface ContainerRecord {
  name: string;
  image: string;
  current: ContainerState;
  last?: ContainerState;
  restartCount: number;
  /** The container will run again (restartPolicy), so a termination is not final. */
  restarting: boolean;
}

export interface PodRecord {
  podIP?: string;
  hostIP: string;
  startTime?: Date;
  init: ContainerRecord[];
  main: ContainerRecord[];
  /** Set while the pod cannot start (volumes, secrets): PodScheduled or ContainersReady reasons. */
  unschedulable?: string;
}

function toStatus(c: ContainerRecord, init: boolean): V1ContainerStatus {
  const render = (s: ContainerState): V1ContainerStatus['state'] =>
    s.state === 'waiting'
      ? { waiting: { reason: s.reason, message: s.message } }
      : s.state === 'running'
        ? { running: { startedAt: s.startedAt } }
        : {
            terminated: {
              exitCode: s.exitCode,
              reason: s.reason,
              startedAt: s.startedAt,
              finishedAt: s.finishedAt,
              ...(s.signal ? { signal: signalNumber(s.signal) } : {}),
            },
          };
  const ready = c.current.state === 'running' && (init ? false : c.current.ready);
  return {
    name: c.name,
    image: c.image,
    imageID: '',
    containerID: '',
    ready: init ? c.current.state === 'terminated' && c.current.exitCode === 0 : ready,
    started: c.current.state === 'running',
    restartCount: c.restartCount,
    state: render(c.current),
    lastState: c.last === undefined ? {} : render(c.last),
  };
}

const SIGNALS: Record<string, number> = {
  SIGHUP: 1,
  SIGINT: 2,
  SIGKILL: 9,
  SIGTERM: 15,
  SIGABRT: 6,
  SIGSEGV: 11,
};
const signalNumber = (s: string): number => SIGNALS[s] ?? 0;

const finished = (c: ContainerRecord): boolean => c.current.state === 'terminated' && !c.restarting;
const succeeded = (c: ContainerRecord): boolean =>
  c.current.state === 'terminated' && c.current.exitCode === 0;

export function podPhase(r: PodRecord): V1PodStatus['phase'] {
  if (r.startTime === undefined) return 'Pending';
  if (!r.init.every((c) => finished(c) && succeeded(c))) {
    return r.init.some((c) => finished(c) && !succeeded(c)) ? 'Failed' : 'Pending';
  }
  if (r.main.length > 0 && r.main.every(finished))
    return r.main.every(succeeded) ? 'Succeeded' : 'Failed';
  if (
    r.main.some(
      (c) => c.current.state === 'running' || c.restarting || c.current.state === 'terminated',
    )
  )
    return 'Running';
  return 'Pending';
}

export function podStatus(pod: V1Pod, r: PodRecord, now: Date): V1PodStatus {
  const prior = pod.status?.conditions ?? [];
  // A condition keeps its transition time while its status stays the same.
  const condition = (
    type: string,
    ok: boolean,
    reason?: string,
    message?: string,
  ): V1PodCondition => {
    const status = ok ? 'True' : 'False';
    const before = prior.find((c) => c.type === type && c.status === status);
    return {
      type,
      status,
      lastTransitionTime: before?.lastTransitionTime ?? now,
      ...(ok ? {} : { reason, message }),
    };
  };
  const phase = podPhase(r);
  const initialized = r.init.every((c) => finished(c) && succeeded(c));
  const containersReady = r.main.every((c) => c.current.state === 'running' && c.current.ready);
  const terminal = phase === 'Succeeded' || phase === 'Failed';
  const notReady = r.main
    .filter((c) => !(c.current.state === 'running' && c.current.ready))
    .map((c) => c.name);
  const whyNot = terminal ? 'PodCompleted' : 'ContainersNotReady';
  const msg = terminal ? undefined : `containers with unready status: [${notReady.join(' ')}]`;
  const conditions: V1PodCondition[] = [
    condition(
      'Initialized',
      initialized || terminal,
      'ContainersNotInitialized',
      'containers with incomplete status',
    ),
    condition('Ready', containersReady && !terminal, whyNot, msg),
    condition('ContainersReady', containersReady && !terminal, whyNot, msg),
    condition(
      'PodScheduled',
      r.unschedulable === undefined || r.startTime !== undefined,
      'Unschedulable',
      r.unschedulable,
    ),
  ];
  return {
    phase,
    conditions,
    hostIP: r.hostIP,
    podIP: r.podIP,
    podIPs: r.podIP ? [{ ip: r.podIP }] : undefined,
    startTime: r.startTime,
    qosClass: pod.status?.qosClass ?? 'BestEffort',
    initContainerStatuses: r.init.length > 0 ? r.init.map((c) => toStatus(c, true)) : undefined,
    containerStatuses: r.main.map((c) => toStatus(c, false)),
  };
}
