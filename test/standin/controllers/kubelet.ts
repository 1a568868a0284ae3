// The stand-in's kubelet (and scheduler): pods go to its one node; pods of
// Scribe's image run as local processes with their volumes, secrets and
// environment (container-process.ts); status goes back through the status
// subresource; logs are files served through the API's pods/log hook.

import { connect } from 'node:net';
import { availableParallelism, release, totalmem } from 'node:os';
import { mkdir, readFile, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type {
  V1Container,
  V1NodeStatus,
  V1PersistentVolume,
  V1PersistentVolumeClaim,
  V1Pod,
  V1Probe,
} from '@kubernetes/client-node';
import type { AddressPool } from './addresses.ts';
import { spawnContainer, type ContainerProcess } from './container-process.ts';
import type { ExecProcess, ExecRequest } from '../api/exec.ts';
import { eventRecorder } from './events.ts';
import {
  describeError,
  isAlreadyExists,
  isNotFound,
  keyOf,
  mergePatch,
  splitKey,
  statusOf,
  watchResource,
  workQueue,
  type Cache,
  type Clients,
  type Logger,
} from './kube.ts';
import { imagePolicy, planContainer, type Entrypoints, type PlanContext } from './pod-plan.ts';
import { podPhase, podStatus, type ContainerRecord, type PodRecord } from './pod-status.ts';
import { claimsPending, referencedObjects, setUpVolumes } from './pod-volumes.ts';
import type { Controller } from './provisioner.ts';

/** The repository root: pods run from it, as the image's working directory would be its app. */
export const projectRoot = fileURLToPath(new URL('../../../', import.meta.url));

export function scribeEntrypoints(root = projectRoot): Entrypoints {
  // The servers get the pod's own network (pod-network.mjs): two replicas of
  // one Deployment listen on the same port, as in pods of a real cluster.
  const podNetwork = `--import=${pathToFileURL(join(root, 'test/standin/controllers/pod-network.mjs')).href}`;
  return {
    'scribe-mover': [process.execPath, join(root, 'mover/bin/scribe-mover.js')],
    'scribe-webhook': [process.execPath, podNetwork, join(root, 'webhook/bin/scribe-webhook.ts')],
    'scribe-replicator': [
      process.execPath,
      podNetwork,
      join(root, 'replicator/bin/scribe-replicator.ts'),
    ],
  };
}

export interface KubeletOptions {
  clients: Clients;
  nodeName: string;
  /** Pod addresses. */
  addresses: AddressPool;
  /** The node's own address (its InternalIP, pods' hostIP). */
  nodeAddress: string;
  /** Where pods' volumes, roots and logs go. */
  dir: string;
  /** What service account token volumes hold and where in-cluster clients find the API. */
  api: { url: string; caPem: string; token: string };
  /** Run pods of other images as a no-op (`sleep`) instead of leaving them Pending. */
  noopOtherImages?: boolean;
  /** Mount namespaces for containers (default: when root). */
  namespaces?: boolean;
  entrypoints?: Entrypoints;
  /** Longest restart back-off (default 10 s; the real kubelet's is 5 min). */
  maxBackoffMs?: number;
  log?: Logger;
  resyncMs?: number;
}

export interface Kubelet extends Controller {
  /** The pods/log hook: a container's output so far. Throws with kubectl's message when there is none. */
  logs(namespace: string, pod: string, container?: string): Promise<string>;
  /** The pods/exec hook: starts a command in a running container. Throws with the kubelet's message when it cannot. */
  exec(r: ExecRequest): Promise<ExecProcess>;
}

interface PodRun {
  uid: string;
  key: string;
  dir: string;
  pod: V1Pod;
  record: PodRecord;
  procs: Map<string, ContainerProcess>;
  stopped: boolean;
  /** Pending back-off and probe sleeps; stopping the run ends them at once. */
  sleeps: Set<() => void>;
  /** Settles when every container loop of the run has returned. */
  done: Promise<void>;
  ctx: PlanContext;
  ip: string;
}

const isRoot = (): boolean => typeof process.getuid === 'function' && process.getuid() === 0;

/** Does a probe succeed once? tcpSocket and httpGet are tried for real; exec probes count as passing. */
function probeOnce(p: V1Probe, ip: string, c: V1Container): Promise<boolean> {
  const port = (v: number | string | undefined): number => {
    if (typeof v === 'number') return v;
    const named = c.ports?.find((x) => x.name === v);
    return named?.containerPort ?? Number(v);
  };
  const timeout = Math.min((p.timeoutSeconds ?? 1) * 1000, 5_000);
  if (p.tcpSocket) {
    return new Promise((resolve) => {
      const s = connect({ host: ip, port: port(p.tcpSocket?.port) });
      const done = (ok: boolean): void => {
        s.destroy();
        resolve(ok);
      };
      s.setTimeout(timeout, () => done(false));
      s.once('connect', () => done(true));
      s.once('error', () => done(false));
    });
  }
  if (p.httpGet) {
    const g = p.httpGet;
    const req = g.scheme === 'HTTPS' ? httpsRequest : httpRequest;
    return new Promise((resolve) => {
      const r = req(
        { host: ip, port: port(g.port), path: g.path ?? '/', timeout, rejectUnauthorized: false },
        (res) => {
          res.resume();
          resolve((res.statusCode ?? 0) >= 200 && (res.statusCode ?? 0) < 400);
        },
      );
      r.on('timeout', () => r.destroy());
      r.on('error', () => resolve(false));
      r.end();
    });
  }
  return Promise.resolve(true);
}

const b64 = (s: string): string => Buffer.from(s, 'base64').toString('latin1');
const utf8ToBinary = (s: string): string => Buffer.from(s, 'utf8').toString('latin1');
const binaryToUtf8 = (
  m: Map<string, Record<string, string>>,
): Map<string, Record<string, string>> =>
  new Map(
    [...m].map(([k, v]) => [
      k,
      Object.fromEntries(
        Object.entries(v).map(([a, b]) => [a, Buffer.from(b, 'latin1').toString('utf8')]),
      ),
    ]),
  );

export async function startKubelet(opts: KubeletOptions): Promise<Kubelet> {
  const { clients, nodeName } = opts;
  const log = opts.log ?? ((m: string) => console.error(`[kubelet] ${m}`));
  const events = eventRecorder(clients, 'kubelet', log);
  const namespaces = opts.namespaces ?? isRoot();
  const entrypoints = opts.entrypoints ?? scribeEntrypoints();
  const maxBackoff = opts.maxBackoffMs ?? 10_000;
  const apiUrl = new URL(opts.api.url);
  const runs = new Map<string, PodRun>();
  const startedAt = new Date();
  /** Log directories of pods that ran, kept until the pod object is gone. */
  const logDirs = new Map<string, { dir: string; containers: string[]; run?: PodRun }>();
  const flushes = new Map<string, Promise<void>>();
  let stopping = false;
  const queue = workQueue(reconcile, log);
  if (!namespaces)
    log(
      'containers run without mount namespaces (not root): their paths are rewritten to host paths',
    );

  const pods: Cache<V1Pod> = await watchResource(
    clients.kc,
    '/api/v1/pods',
    () => clients.core.listPodForAllNamespaces(),
    (o) => queue.add(keyOf(o)),
    log,
  );
  const pvcs: Cache<V1PersistentVolumeClaim> = await watchResource(
    clients.kc,
    '/api/v1/persistentvolumeclaims',
    () => clients.core.listPersistentVolumeClaimForAllNamespaces(),
    () => undefined,
    log,
  );
  const pvs: Cache<V1PersistentVolume> = await watchResource(
    clients.kc,
    '/api/v1/persistentvolumes',
    () => clients.core.listPersistentVolume(),
    () => undefined,
    log,
  );
  await registerNode();
  const heartbeat = setInterval(() => void heartbeatNode(), 10_000);
  const resync = setInterval(() => {
    for (const p of pods.list()) {
      const phase = p.status?.phase;
      if (phase !== 'Succeeded' && phase !== 'Failed' && !runs.has(keyOf(p))) queue.add(keyOf(p));
      else if (p.metadata?.deletionTimestamp) queue.add(keyOf(p));
    }
  }, opts.resyncMs ?? 1_000);

  function nodeStatus(now: Date): V1NodeStatus {
    return {
      conditions: [
        {
          type: 'Ready',
          status: 'True',
          reason: 'KubeletReady',
          message: 'kubelet is posting ready status',
          lastHeartbeatTime: now,
          lastTransitionTime: startedAt,
        },
      ],
      addresses: [
        { type: 'InternalIP', address: opts.nodeAddress },
        { type: 'Hostname', address: nodeName },
      ],
      capacity: {
        cpu: String(availableParallelism()),
        memory: `${Math.floor(totalmem() / 1024)}Ki`,
        pods: '110',
      },
      allocatable: {
        cpu: String(availableParallelism()),
        memory: `${Math.floor(totalmem() / 1024)}Ki`,
        pods: '110',
      },
      nodeInfo: {
        architecture: process.arch === 'x64' ? 'amd64' : process.arch,
        operatingSystem: 'linux',
        osImage: 'Scribe stand-in',
        kernelVersion: release(),
        kubeletVersion: 'v1.24.0-standin',
        kubeProxyVersion: 'v1.24.0-standin',
        containerRuntimeVersion: namespaces ? 'standin://mount-namespaces' : 'standin://processes',
        machineID: '',
        systemUUID: '',
        bootID: '',
      },
    };
  }

  /** The kubelet registers its Node, Ready, as a real one does at start. */
  async function registerNode(): Promise<void> {
    const labels = {
      'kubernetes.io/hostname': nodeName,
      'kubernetes.io/os': 'linux',
      'kubernetes.io/arch': process.arch === 'x64' ? 'amd64' : process.arch,
    };
    try {
      await clients.core.createNode({
        body: { apiVersion: 'v1', kind: 'Node', metadata: { name: nodeName, labels } },
      });
    } catch (err) {
      if (!isAlreadyExists(err)) {
        log(`cannot register node ${nodeName}: ${describeError(err)}`);
        return;
      }
    }
    await heartbeatNode();
  }

  async function heartbeatNode(): Promise<void> {
    await clients.core
      .patchNodeStatus({ name: nodeName, body: { status: nodeStatus(new Date()) } }, mergePatch)
      .catch((err: unknown) => log(`node ${nodeName} status: ${describeError(err)}`));
  }

  async function patchStatus(pod: V1Pod, status: object): Promise<void> {
    try {
      await clients.core.patchNamespacedPodStatus(
        {
          name: pod.metadata?.name ?? '',
          namespace: pod.metadata?.namespace ?? '',
          body: { status },
        },
        mergePatch,
      );
    } catch (err) {
      if (!isNotFound(err)) log(`status of pod ${keyOf(pod)}: ${describeError(err)}`);
    }
  }

  /** Sends the run's status; calls in a burst collapse into one patch after the one in flight. */
  function flush(run: PodRun): void {
    if (stopping || flushes.has(run.key + '#next')) return;
    const prior = flushes.get(run.key) ?? Promise.resolve();
    flushes.set(run.key + '#next', Promise.resolve());
    const next = prior.then(async () => {
      flushes.delete(run.key + '#next');
      const live = pods.get(run.pod.metadata?.name ?? '', run.pod.metadata?.namespace) ?? run.pod;
      if (live.metadata?.uid !== run.uid) return;
      await patchStatus(live, podStatus(live, run.record, new Date()));
    });
    flushes.set(run.key, next);
  }

  async function bindToNode(pod: V1Pod): Promise<void> {
    const name = pod.metadata?.name ?? '';
    const namespace = pod.metadata?.namespace ?? '';
    try {
      await clients.core.createNamespacedPodBinding({
        name,
        namespace,
        body: {
          apiVersion: 'v1',
          kind: 'Binding',
          metadata: { name, namespace },
          target: { kind: 'Node', name: nodeName },
        },
      });
    } catch (err) {
      // A server without the binding subresource: set the field directly.
      const code = statusOf(err)?.code;
      if (code !== 404 && code !== 405) throw err;
      await clients.core.patchNamespacedPod(
        { name, namespace, body: { spec: { nodeName } } },
        mergePatch,
      );
    }
    await events.record(
      pod,
      'Pod',
      'Normal',
      'Scheduled',
      `Successfully assigned ${namespace}/${name} to ${nodeName}`,
    );
  }

  async function fetchObjects(pod: V1Pod): Promise<
    | {
        secrets: Map<string, Record<string, string>>;
        configMaps: Map<string, Record<string, string>>;
      }
    | string
  > {
    const namespace = pod.metadata?.namespace ?? '';
    const refs = referencedObjects(pod);
    const secrets = new Map<string, Record<string, string>>();
    const configMaps = new Map<string, Record<string, string>>();
    for (const [name, optional] of refs.secrets) {
      try {
        const s = await clients.core.readNamespacedSecret({ name, namespace });
        secrets.set(name, {
          ...Object.fromEntries(
            Object.entries(s.stringData ?? {}).map(([k, v]) => [k, utf8ToBinary(v)]),
          ),
          ...Object.fromEntries(Object.entries(s.data ?? {}).map(([k, v]) => [k, b64(v)])),
        });
      } catch (err) {
        if (!isNotFound(err)) throw err;
        if (!optional) return `secret "${name}" not found`;
      }
    }
    for (const [name, optional] of refs.configMaps) {
      try {
        const c = await clients.core.readNamespacedConfigMap({ name, namespace });
        configMaps.set(name, {
          ...Object.fromEntries(Object.entries(c.data ?? {}).map(([k, v]) => [k, utf8ToBinary(v)])),
          ...Object.fromEntries(Object.entries(c.binaryData ?? {}).map(([k, v]) => [k, b64(v)])),
        });
      } catch (err) {
        if (!isNotFound(err)) throw err;
        if (!optional) return `configmap "${name}" not found`;
      }
    }
    return { secrets, configMaps };
  }

  function newRecord(c: V1Container): ContainerRecord {
    return {
      name: c.name,
      image: c.image ?? '',
      current: { state: 'waiting', reason: 'ContainerCreating' },
      restartCount: 0,
      restarting: false,
    };
  }

  const sleep = (run: PodRun, ms: number): Promise<void> =>
    new Promise((resolve) => {
      const wake = (): void => {
        clearTimeout(t);
        run.sleeps.delete(wake);
        resolve();
      };
      const t = setTimeout(wake, ms);
      run.sleeps.add(wake);
    });

  async function watchReadiness(
    run: PodRun,
    c: V1Container,
    rec: ContainerRecord,
    proc: ContainerProcess,
  ): Promise<void> {
    const probe = c.readinessProbe;
    if (probe === undefined) return;
    await sleep(run, (probe.initialDelaySeconds ?? 0) * 1000);
    const period = Math.min((probe.periodSeconds ?? 10) * 1000, 500);
    while (!run.stopped && run.procs.get(c.name) === proc && rec.current.state === 'running') {
      const ok = await probeOnce(probe, run.ip, c);
      if (
        rec.current.state === 'running' &&
        rec.current.ready !== ok &&
        run.procs.get(c.name) === proc
      ) {
        rec.current = { ...rec.current, ready: ok };
        flush(run);
      }
      await sleep(run, period);
    }
  }

  /** Runs one container until it is done for good (restartPolicy) or the pod stops. Resolves with success. */
  async function runContainer(
    run: PodRun,
    c: V1Container,
    rec: ContainerRecord,
    init: boolean,
  ): Promise<boolean> {
    const policy = run.pod.spec?.restartPolicy ?? 'Always';
    let backoff = 1_000;
    for (;;) {
      if (run.stopped) return false;
      let proc: ContainerProcess;
      try {
        const plan = planContainer(run.pod, c, {
          ...run.ctx,
          secrets: binaryToUtf8(run.ctx.secrets),
          configMaps: binaryToUtf8(run.ctx.configMaps),
          policy: imagePolicy(c.image, opts.noopOtherImages === true),
        });
        proc = await spawnContainer({
          plan,
          dir: join(run.dir, 'containers', c.name),
          logFile: join(run.dir, 'logs', `${c.name}.log`),
          cwd: projectRoot,
          namespaces: namespaces && plan.mounts.length > 0,
        });
      } catch (err) {
        rec.current = {
          state: 'waiting',
          reason: 'CreateContainerConfigError',
          message: (err as Error).message,
        };
        flush(run);
        await events.record(
          run.pod,
          'Pod',
          'Warning',
          'Failed',
          `Error: ${(err as Error).message}`,
        );
        return false;
      }
      run.procs.set(c.name, proc);
      if (run.stopped) {
        await proc.stop(0);
        return false;
      }
      rec.current = {
        state: 'running',
        startedAt: proc.startedAt,
        ready: c.readinessProbe === undefined,
      };
      rec.restarting = false;
      flush(run);
      void events.record(run.pod, 'Pod', 'Normal', 'Started', `Started container ${c.name}`);
      void watchReadiness(run, c, rec, proc);
      const { code, signal } = await proc.exited;
      const exitCode = code ?? 128 + (signal === 'SIGKILL' ? 9 : signal === 'SIGTERM' ? 15 : 1);
      rec.current = {
        state: 'terminated',
        exitCode,
        reason: exitCode === 0 ? 'Completed' : 'Error',
        ...(signal ? { signal } : {}),
        startedAt: proc.startedAt,
        finishedAt: new Date(),
      };
      const again =
        !run.stopped &&
        (policy === 'Always' ? !init || exitCode !== 0 : policy === 'OnFailure' && exitCode !== 0);
      rec.restarting = again;
      flush(run);
      if (!again) return exitCode === 0;
      // A container that ran a while starts over with a short back-off.
      if (Date.now() - proc.startedAt.getTime() > 2 * maxBackoff) backoff = 1_000;
      rec.last = rec.current;
      rec.current = {
        state: 'waiting',
        reason: 'CrashLoopBackOff',
        message: `back-off ${backoff / 1000}s restarting failed container=${c.name} pod=${run.pod.metadata?.name}`,
      };
      flush(run);
      await sleep(run, backoff);
      backoff = Math.min(backoff * 2, maxBackoff);
      rec.restartCount++;
    }
  }

  async function startPod(
    pod: V1Pod,
    objects: {
      secrets: Map<string, Record<string, string>>;
      configMaps: Map<string, Record<string, string>>;
    },
  ): Promise<void> {
    const key = keyOf(pod);
    const uid = pod.metadata?.uid ?? '';
    const dir = join(opts.dir, `${pod.metadata?.namespace}_${pod.metadata?.name}_${uid}`);
    const ip = opts.addresses.take();
    const init = pod.spec?.initContainers ?? [];
    const main = pod.spec?.containers ?? [];
    const run: PodRun = {
      uid,
      key,
      dir,
      pod,
      ip,
      record: {
        hostIP: opts.nodeAddress,
        podIP: ip,
        startTime: new Date(),
        init: init.map(newRecord),
        main: main.map(newRecord),
      },
      procs: new Map(),
      stopped: false,
      sleeps: new Set(),
      done: Promise.resolve(),
      ctx: {
        podIP: ip,
        nodeName,
        hostIP: opts.nodeAddress,
        volumes: new Map(),
        secrets: objects.secrets,
        configMaps: objects.configMaps,
        entrypoints,
        noop: ['sleep', '2147483647'],
        policy: 'run',
        baseEnv: {
          PATH: `${dirname(process.execPath)}:${process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin'}`,
          HOSTNAME: pod.metadata?.name ?? '',
          HOME: namespaces ? '/root' : (process.env.HOME ?? '/'),
          KUBERNETES_SERVICE_HOST: apiUrl.hostname.replace(/^\[|\]$/g, ''),
          KUBERNETES_SERVICE_PORT: apiUrl.port || '443',
          // Where pod-network.mjs pins servers that listen on every address.
          STANDIN_POD_IP: ip,
        },
      },
    };
    runs.set(key, run);
    logDirs.set(key, { dir: join(dir, 'logs'), containers: main.map((c) => c.name), run });
    await mkdir(join(dir, 'logs'), { recursive: true });
    try {
      run.ctx.volumes = await setUpVolumes(dir, {
        pod,
        podIP: ip,
        nodeName,
        claims: (n) => pvcs.get(n, pod.metadata?.namespace),
        volumes: (n) => pvs.get(n),
        secrets: objects.secrets,
        configMaps: objects.configMaps,
        serviceAccount: { token: opts.api.token, caPem: opts.api.caPem },
      });
    } catch (err) {
      await events.record(
        pod,
        'Pod',
        'Warning',
        'FailedMount',
        `MountVolume.SetUp failed: ${(err as Error).message}`,
      );
      run.stopped = true;
      runs.delete(key);
      opts.addresses.release(ip);
      throw err;
    }
    flush(run);
    run.done = (async () => {
      for (let i = 0; i < init.length; i++) {
        const ok = await runContainer(
          run,
          init[i] as V1Container,
          run.record.init[i] as ContainerRecord,
          true,
        );
        if (!ok) return;
      }
      await Promise.all(
        main.map((c, i) => runContainer(run, c, run.record.main[i] as ContainerRecord, false)),
      );
    })().catch((err: unknown) => log(`pod ${key}: ${describeError(err)}`));
  }

  async function stopRun(run: PodRun, graceMs: number): Promise<void> {
    run.stopped = true;
    for (const wake of [...run.sleeps]) wake();
    await Promise.all([...run.procs.values()].map((p) => p.stop(graceMs)));
    // A container being started as the run stopped ends itself (runContainer checks after spawning).
    await run.done;
    runs.delete(run.key);
    opts.addresses.release(run.ip);
  }

  async function reconcile(key: string): Promise<void> {
    const { namespace, name } = splitKey(key);
    const pod = pods.get(name, namespace);
    const run = runs.get(key);
    if (pod === undefined || (run !== undefined && run.uid !== pod.metadata?.uid)) {
      if (run !== undefined) await stopRun(run, 2_000);
      if (pod === undefined) {
        const kept = logDirs.get(key);
        logDirs.delete(key);
        if (kept !== undefined) await rm(dirname(kept.dir), { recursive: true, force: true });
        return;
      }
    }
    if (pod.spec?.nodeName && pod.spec.nodeName !== nodeName) return;

    if (pod.metadata?.deletionTimestamp) {
      const current = runs.get(key);
      if (current !== undefined) {
        void events.record(
          pod,
          'Pod',
          'Normal',
          'Killing',
          `Stopping container${current.procs.size > 1 ? 's' : ''} ${[...current.procs.keys()].join(', ')}`,
        );
        const grace =
          pod.metadata.deletionGracePeriodSeconds ?? pod.spec?.terminationGracePeriodSeconds ?? 30;
        await stopRun(current, Math.min(grace, 30) * 1000);
      }
      // The kubelet confirms the deletion once the containers are gone.
      await clients.core
        .deleteNamespacedPod({
          name,
          namespace,
          gracePeriodSeconds: 0,
          body: { preconditions: { uid: pod.metadata.uid } },
        })
        .catch((err: unknown) => {
          if (!isNotFound(err) && statusOf(err)?.code !== 409) throw err;
        });
      return;
    }
    if (runs.has(key)) return;
    const phase = pod.status?.phase;
    if (phase === 'Succeeded' || phase === 'Failed') return;

    const containers = [...(pod.spec?.initContainers ?? []), ...(pod.spec?.containers ?? [])];
    const noop = opts.noopOtherImages === true;
    const blocked = containers.find((c) => imagePolicy(c.image, noop) === 'pending');
    const why = claimsPending(pod, {
      claims: (n) => pvcs.get(n, namespace),
      volumes: (n) => pvs.get(n),
    });
    if (why !== undefined) {
      if (!pod.spec?.nodeName) {
        const record: PodRecord = {
          hostIP: opts.nodeAddress,
          init: [],
          main: [],
          unschedulable: why,
        };
        if (pod.status?.conditions?.find((c) => c.type === 'PodScheduled')?.message !== why) {
          await patchStatus(pod, {
            phase: 'Pending',
            conditions: podStatus(pod, record, new Date()).conditions?.filter(
              (c) => c.type === 'PodScheduled',
            ),
          });
        }
      }
      return;
    }
    if (!pod.spec?.nodeName) {
      await bindToNode(pod);
      return; // the update event brings the pod back with its node
    }
    if (blocked !== undefined) {
      const message = `Container image "${blocked.image}" is not present with pull policy of Never`;
      const waiting: PodRecord = {
        hostIP: opts.nodeAddress,
        init: (pod.spec.initContainers ?? []).map((c) => ({
          ...newRecord(c),
          current: { state: 'waiting', reason: 'ErrImageNeverPull', message },
        })),
        main: (pod.spec.containers ?? []).map((c) => ({
          ...newRecord(c),
          current: { state: 'waiting', reason: 'ErrImageNeverPull', message },
        })),
      };
      const status = podStatus(pod, waiting, new Date());
      if (
        JSON.stringify(pod.status?.containerStatuses?.map((s) => s.state)) !==
        JSON.stringify(status.containerStatuses?.map((s) => s.state))
      ) {
        await patchStatus(pod, status);
        await events.record(
          pod,
          'Pod',
          'Warning',
          'ErrImageNeverPull',
          `the stand-in runs only Scribe's image (ghcr.io/backube/scribe): ${message}`,
        );
      }
      return;
    }
    const objects = await fetchObjects(pod);
    if (typeof objects === 'string') {
      await events.record(
        pod,
        'Pod',
        'Warning',
        'FailedMount',
        `MountVolume.SetUp failed: ${objects}`,
      );
      return;
    }
    await startPod(pod, objects);
  }

  return {
    idle: () => queue.idle(),
    async exec(r) {
      const run = runs.get(`${r.namespace}/${r.pod}`);
      const rec = [...(run?.record.main ?? []), ...(run?.record.init ?? [])].find(
        (c) => c.name === r.container,
      );
      const proc = run?.procs.get(r.container);
      if (
        run === undefined ||
        run.stopped ||
        proc === undefined ||
        rec?.current.state !== 'running'
      )
        throw new Error(`container not found (${JSON.stringify(r.container)})`);
      if (r.dryRun)
        return {
          stdin: null,
          stdout: null,
          stderr: null,
          exited: Promise.resolve(0),
          kill: () => {},
        };
      const child = await proc.exec(r.command, r.stdin);
      const exited = new Promise<number>((resolve) => {
        child.once('error', () => resolve(127));
        child.once('exit', (code, signal) =>
          resolve(code ?? 128 + (signal === 'SIGKILL' ? 9 : signal === 'SIGTERM' ? 15 : 1)),
        );
      });
      await new Promise<void>((resolve, reject) => {
        child.once('spawn', resolve);
        child.once('error', reject);
      });
      return {
        stdin: child.stdin,
        stdout: child.stdout,
        stderr: child.stderr,
        exited,
        kill: () => {
          try {
            if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
          } catch {
            // already gone
          }
        },
      };
    },
    async logs(namespace, pod, container) {
      const kept = logDirs.get(`${namespace}/${pod}`);
      if (kept === undefined) {
        const p = pods.get(pod, namespace);
        const first = container ?? p?.spec?.containers?.[0]?.name ?? '';
        if (p === undefined) throw new Error(`pods "${pod}" not found`);
        const waiting = p.status?.containerStatuses?.find((s) => s.name === first)?.state?.waiting;
        throw new Error(
          `container "${first}" in pod "${pod}" is waiting to start: ${waiting?.reason ?? 'ContainerCreating'}`,
        );
      }
      let name = container;
      if (name === undefined) {
        if (kept.containers.length !== 1) {
          throw new Error(
            `a container name must be specified for pod ${pod}, choose one of: [${kept.containers.join(' ')}]`,
          );
        }
        name = kept.containers[0] as string;
      }
      const known = [...kept.containers, ...(kept.run?.record.init.map((c) => c.name) ?? [])];
      if (!known.includes(name)) throw new Error(`container ${name} is not valid for pod ${pod}`);
      try {
        return await readFile(join(kept.dir, `${name}.log`), 'utf8');
      } catch {
        throw new Error(
          `container "${name}" in pod "${pod}" is waiting to start: ContainerCreating`,
        );
      }
    },
    async stop() {
      clearInterval(resync);
      clearInterval(heartbeat);
      await queue.stop();
      stopping = true;
      await Promise.all([...runs.values()].map((r) => stopRun(r, 2_000)));
      await Promise.all([...flushes.values()].map((p) => p.catch(() => undefined)));
      await Promise.all([pods, pvcs, pvs].map((c) => c.stop()));
      for (const kept of logDirs.values())
        await rm(dirname(kept.dir), { recursive: true, force: true });
    },
  };
}

export { podPhase };
