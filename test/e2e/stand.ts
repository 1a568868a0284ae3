// Two stand-in clusters with a replicator for each, driven pass by pass, and
// the steps every replication test takes: keys, a destination endpoint, a
// source PVC with its spec.
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { V1PersistentVolumeClaim, V1Service } from '@kubernetes/client-node';
import { pino } from 'pino';
import { stringify } from 'yaml';
import {
  parseStatus,
  renderSpec,
  specKeys,
  type ReplicationStatus,
  type SourceSpec,
} from '../../model/src/index.ts';
import { kubeFrom } from '../../replicator/src/kube.ts';
import { objectName } from '../../replicator/src/naming.ts';
import { replicatorMetrics } from '../../replicator/src/metrics.ts';
import { scribeWebhookDomain } from '../../plugin/src/plan/enable.ts';
import { reconcileAll, type ReplicatorOptions } from '../../replicator/src/run.ts';
import { CSI_CLASS, startCluster, type Cluster } from '../standin/cluster.ts';
import { harness, moverKeys, waitFor } from '../standin/cluster-testing.ts';

export const ns = 'default';

/**
 * With SCRIBE_E2E_KUBECONFIG set the suites would target a real cluster, but
 * their data checks read the stand-in's volumes directly, which a real
 * cluster does not allow: they skip, saying so.
 */
export const onRealCluster = Boolean(process.env.SCRIBE_E2E_KUBECONFIG);
if (onRealCluster) {
  console.warn(
    "e2e: SCRIBE_E2E_KUBECONFIG is set, but these suites verify data through the stand-in's volumes; skipped",
  );
} else {
  console.info('e2e: running on the two-cluster stand-in (test/standin)');
}
export const copyTimeoutSeconds = 8;

export interface Stand {
  work: string;
  source: Cluster;
  destination: Cluster;
  src: ReplicatorOptions;
  dst: ReplicatorOptions;
  stop(): Promise<void>;
}

function replicator(c: Cluster, identity: string): ReplicatorOptions {
  return {
    kube: kubeFrom(c.clients.kc),
    log: pino({ level: 'warn' }, pino.destination(2)),
    metrics: replicatorMetrics(),
    namespace: ns,
    identity,
    intervalMs: 200,
    leaseSeconds: 15,
    image: 'ghcr.io/backube/scribe:latest',
    copyTimeoutSeconds,
    backoff: { baseSeconds: 1, capSeconds: 2 },
  };
}

export async function startStand(): Promise<Stand | undefined> {
  if (onRealCluster) return undefined;
  const work = await mkdtemp(join(tmpdir(), 'scribe-e2e-'));
  const source = await startCluster({ name: 'source', dir: join(work, 'source') });
  const destination = await startCluster({ name: 'destination', dir: join(work, 'destination') });
  return {
    work,
    source,
    destination,
    src: replicator(source, 'replicator-source'),
    dst: replicator(destination, 'replicator-destination'),
    async stop() {
      await source.stop().catch(() => undefined);
      await destination.stop().catch(() => undefined);
      await rm(work, { recursive: true, force: true });
    },
  };
}

/** Runs both replicators, pass by pass, until `done` gives a value (bounded). */
export function drive<T>(
  s: Stand,
  what: string,
  done: () => Promise<T | undefined>,
  ms = 60_000,
): Promise<T> {
  return waitFor(
    what,
    async () => {
      await reconcileAll(s.dst);
      await reconcileAll(s.src);
      return done();
    },
    ms,
  );
}

export async function readClaim(c: Cluster, name: string): Promise<V1PersistentVolumeClaim> {
  return c.clients.core.readNamespacedPersistentVolumeClaim({ name, namespace: ns });
}

export async function statusOf(c: Cluster, name: string): Promise<ReplicationStatus> {
  return parseStatus((await readClaim(c, name)).metadata?.annotations);
}

/** Creates a claim (64Mi) with these annotations and returns its volume's directory once bound. */
/** Creates a claim and returns its volume: a directory, or for a Block claim a device (or image file). */
export async function claim(
  c: Cluster,
  name: string,
  storageClass: string,
  annotations: Record<string, string>,
  volumeMode: 'Filesystem' | 'Block' = 'Filesystem',
): Promise<string> {
  await c.clients.core.createNamespacedPersistentVolumeClaim({
    namespace: ns,
    body: {
      metadata: { name, annotations },
      spec: {
        accessModes: ['ReadWriteOnce'],
        volumeMode,
        storageClassName: storageClass,
        resources: { requests: { storage: '64Mi' } },
      },
    },
  });
  return volumeOf(c, name);
}

/** The directory of a claim's volume, once it is bound. */
export async function volumeOf(c: Cluster, name: string): Promise<string> {
  const bound = await waitFor(`${name} to bind`, async () => {
    const p = await readClaim(c, name).catch(() => undefined);
    return p?.spec?.volumeName ? p : undefined;
  });
  const pv = await c.clients.core.readPersistentVolume({ name: bound.spec!.volumeName! });
  return pv.spec!.local!.path;
}

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

const pluginBin = join(import.meta.dirname, '..', '..', 'plugin', 'bin');

/** The real kubectl running `kubectl scribe` (found on PATH, as krew installs it). */
export function kubectlScribe(kubeconfig: string, args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      'kubectl',
      ['scribe', ...args, '--kubeconfig', kubeconfig, '-n', ns],
      {
        env: { ...process.env, PATH: `${pluginBin}:${process.env.PATH}`, SCRIBE_POLL_MS: '200' },
        timeout: 120_000,
      },
      (err, stdout, stderr) => {
        const code = err ? ((err as { code?: number }).code ?? 1) : 0;
        resolve({ code: typeof code === 'number' ? code : 1, stdout, stderr });
      },
    );
  });
}

/**
 * Keys in both clusters, a destination PVC `name` and its endpoint: returns
 * the destination's volume directory and the endpoint's address.
 */
export async function destinationFor(
  s: Stand,
  name: string,
  volumeMode: 'Filesystem' | 'Block' = 'Filesystem',
): Promise<{ dir: string; endpoint: string }> {
  const keys = await moverKeys(join(s.work, `keys-${name}`));
  await harness(s.destination.clients, ns).secretFrom(`scribe-${name}`, {
    host_ed25519: keys.host,
    'client_ed25519.pub': keys.clientPub,
  });
  await harness(s.source.clients, ns).secretFrom(`scribe-${name}`, {
    client_ed25519: keys.client,
    'host_ed25519.pub': keys.hostPub,
  });
  const dir = await claim(
    s.destination,
    name,
    CSI_CLASS,
    renderSpec({
      role: 'destination',
      source: { context: 'source', namespace: ns, name },
      secret: `scribe-${name}`,
      snapshotsToKeep: 2,
      serviceType: 'LoadBalancer',
    }),
    volumeMode,
  );
  const svc = await drive(s, 'the endpoint Service to get an address', async () => {
    const v = await s.destination.clients.core
      .readNamespacedService({ name: objectName('scribe', name), namespace: ns })
      .catch(() => undefined as V1Service | undefined);
    return v?.status?.loadBalancer?.ingress?.[0]?.ip ? v : undefined;
  });
  return { dir, endpoint: `${svc.status!.loadBalancer!.ingress![0]!.ip}:2222` };
}

export function sourceSpec(
  name: string,
  endpoint: string,
  o: Partial<SourceSpec> = {},
): SourceSpec {
  return {
    role: 'source',
    method: 'clone',
    destination: { context: 'destination', namespace: ns, name },
    endpoint,
    secret: `scribe-${name}`,
    destinationVolumeMode: 'Filesystem',
    trigger: { kind: 'manual' },
    paused: false,
    liveRequiresRwo: false,
    checksumEvery: 0,
    ...o,
  };
}

/** Asks for a sync now, as `kubectl scribe sync` does; returns the request's time. */
export async function requestSync(
  s: Stand,
  name: string,
  extra: Record<string, string> = {},
): Promise<string> {
  const at = new Date().toISOString();
  await s.src.kube.mergePatch(await readClaim(s.source, name), {
    metadata: { annotations: { ...extra, [specKeys.syncRequested]: at } },
  });
  return at;
}

/** Waits until the sync requested at `at` has ended, and returns the status. */
export function syncEnded(s: Stand, name: string, at: string): Promise<ReplicationStatus> {
  return drive(s, `the sync of ${name} requested at ${at} to end`, async () => {
    const st = await statusOf(s.source, name);
    return st.syncHandled === at && st.lastSyncResult !== 'Running' ? st : undefined;
  });
}

/**
 * Runs `kubectl scribe` while the given replicators do their passes, as they
 * would in a cluster (a command may wait on what they do).
 */
export async function scribeWhileDriving(
  kubeconfig: string,
  args: string[],
  replicators: ReplicatorOptions[],
): Promise<Run> {
  let done = false;
  const run = kubectlScribe(kubeconfig, args).finally(() => (done = true));
  while (!done) {
    for (const r of replicators) await reconcileAll(r);
    await new Promise((r) => setTimeout(r, 100));
  }
  return run;
}

/** One kubeconfig with both clusters' contexts, `source` and `destination`. */
export async function writeBothKubeconfig(s: Stand): Promise<string> {
  type Config = { clusters: unknown[]; users: unknown[]; contexts: unknown[] };
  const a = s.source.kubeconfig('source') as Config;
  const b = s.destination.kubeconfig('destination') as Config;
  const path = join(s.work, 'both.kubeconfig');
  await writeFile(
    path,
    stringify({
      ...a,
      clusters: [...a.clusters, ...b.clusters],
      users: [...a.users, ...b.users],
      contexts: [...a.contexts, ...b.contexts],
    }),
  );
  return path;
}

/**
 * Scribe counts as installed where its webhooks are registered (enable checks
 * that); the stand-ins of these suites run no admission chain, so the
 * registration is all there is to it.
 */
export async function registerScribe(c: Cluster): Promise<void> {
  await c.clients.admission.createValidatingWebhookConfiguration({
    body: {
      metadata: { name: 'scribe' },
      webhooks: [
        {
          name: `pvc.${scribeWebhookDomain}`,
          admissionReviewVersions: ['v1'],
          sideEffects: 'None',
          failurePolicy: 'Ignore',
          clientConfig: { url: 'https://127.0.0.1:1/validate' },
          rules: [
            {
              apiGroups: [''],
              apiVersions: ['v1'],
              operations: ['CREATE'],
              resources: ['persistentvolumeclaims'],
            },
          ],
        },
      ],
    },
  });
}
