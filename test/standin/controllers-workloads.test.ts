import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { V1Pod } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCluster, type Cluster } from './cluster.ts';
import {
  harness,
  moverKeys,
  receiverArgs,
  senderArgs,
  waitFor,
  SCRIBE_IMAGE as IMAGE,
} from './cluster-testing.ts';

const execFileP = promisify(execFile);
const NS = 'default';

let work: string;
let cluster: Cluster;
let kubeconfigPath: string;
let h: ReturnType<typeof harness>;

async function kubectl(...args: string[]): Promise<string> {
  const { stdout } = await execFileP('kubectl', ['--kubeconfig', kubeconfigPath, ...args], {
    timeout: 30_000,
  });
  return stdout;
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'standin-workloads-'));
  cluster = await startCluster({
    name: 'work',
    dir: join(work, 'cluster'),
    storageSizeMiB: 1024,
    log: process.env.STANDIN_LOG ? (m) => console.error(m) : () => undefined,
  });
  kubeconfigPath = join(work, 'kubeconfig');
  await cluster.api.writeKubeconfig(kubeconfigPath, 'work');
  h = harness(cluster.clients);
});

afterAll(async () => {
  await cluster?.stop();
  await rm(work, { recursive: true, force: true });
});

describe('workloads that really run', () => {
  it('moves a volume with scribe-mover: a receiver Job behind a LoadBalancer, a sender Job', async () => {
    const keys = await moverKeys(join(work, 'keys'));
    await h.secretFrom('dst-keys', {
      host_ed25519: keys.host,
      'client_ed25519.pub': keys.clientPub,
    });
    await h.secretFrom('src-keys', {
      client_ed25519: keys.client,
      'host_ed25519.pub': keys.hostPub,
    });
    const src = await h.claimPath('src');
    const dst = await h.claimPath('dst');
    await mkdir(join(src, 'dir'));
    await writeFile(join(src, 'dir', 'a.txt'), 'replicated through the stand-in');
    await writeFile(join(src, 'b.bin'), Buffer.alloc(300_000, 3));

    const receiverLabels = { app: 'receiver' };
    await h.createMoverJob({
      name: 'receive',
      claim: 'dst',
      secret: 'dst-keys',
      container: {
        args: receiverArgs,
        ports: [{ name: 'mover', containerPort: 2222 }],
        readinessProbe: { tcpSocket: { port: 'mover' }, periodSeconds: 1 },
      },
      labels: receiverLabels,
      readOnly: false,
    });
    await cluster.clients.core.createNamespacedService({
      namespace: NS,
      body: {
        metadata: { name: 'receiver' },
        spec: {
          type: 'LoadBalancer',
          selector: receiverLabels,
          ports: [{ name: 'mover', port: 2222, targetPort: 'mover' }],
        },
      },
    });
    const lb = await waitFor('the load balancer address', async () => {
      const s = await cluster.clients.core.readNamespacedService({
        name: 'receiver',
        namespace: NS,
      });
      return s.status?.loadBalancer?.ingress?.[0]?.ip;
    });
    expect(lb).toMatch(/^127\./);
    // The receiver's pod is ready once it listens (its readiness probe) and shows in the endpoints.
    const ep = await waitFor('a ready endpoint', async () => {
      const e = await cluster.clients.core.readNamespacedEndpoints({
        name: 'receiver',
        namespace: NS,
      });
      return e.subsets?.[0]?.addresses?.[0];
    });
    const [receiverPod] = await h.podsOf('receive');
    expect(ep.ip).toBe(receiverPod?.status?.podIP);
    expect(receiverPod?.metadata?.ownerReferences?.[0]).toMatchObject({
      kind: 'Job',
      name: 'receive',
      controller: true,
    });
    expect(receiverPod?.metadata?.labels).toMatchObject({
      'job-name': 'receive',
      'controller-uid': expect.any(String),
    });

    await h.createMoverJob({
      name: 'send',
      claim: 'src',
      secret: 'src-keys',
      container: {
        env: [
          { name: 'TMPDIR', value: '/tmp' },
          { name: 'ENDPOINT', value: `${lb}:2222` },
        ],
        args: senderArgs('$(ENDPOINT)'),
      },
      labels: { app: 'sender' },
      readOnly: true,
    });
    const sent = await h.jobDone('send');
    const received = await h.jobDone('receive');
    const [senderPod] = await h.podsOf('send');
    const senderLog = await kubectl('logs', senderPod?.metadata?.name ?? '');
    expect(sent.status?.conditions?.[0]?.type, senderLog).toBe('Complete');
    expect(received.status?.conditions?.[0]?.type).toBe('Complete');
    expect(sent.status?.succeeded).toBe(1);
    expect(await readFile(join(dst, 'dir', 'a.txt'), 'utf8')).toBe(
      'replicated through the stand-in',
    );
    expect((await readFile(join(dst, 'b.bin'))).equals(Buffer.alloc(300_000, 3))).toBe(true);
    expect(JSON.parse(await readFile(join(dst, '.scribe', 'complete.json'), 'utf8'))).toBeTypeOf(
      'object',
    );
    // The summary the sender printed, read back through the API as kubectl does.
    const summary = senderLog
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as { result?: string; files?: number })
      .find((o) => o.result);
    expect(summary).toMatchObject({ result: 'succeeded' });

    const pod = (await h.podsOf('send'))[0] as V1Pod;
    expect(pod.status).toMatchObject({
      phase: 'Succeeded',
      containerStatuses: [
        expect.objectContaining({
          name: 'mover',
          state: { terminated: expect.objectContaining({ exitCode: 0, reason: 'Completed' }) },
        }),
      ],
    });
  });

  it('reports a failing container, restarts it by policy, and keeps a Deployment at its replicas', async () => {
    // Exit 3 from the mover: a bad flag. restartPolicy Never → the Job fails at backoffLimit 0.
    await cluster.clients.batch.createNamespacedJob({
      namespace: NS,
      body: {
        metadata: { name: 'bad' },
        spec: {
          backoffLimit: 0,
          template: {
            spec: {
              restartPolicy: 'Never',
              containers: [
                {
                  name: 'm',
                  image: IMAGE,
                  command: ['scribe-mover'],
                  args: ['send', '--no-such-flag'],
                },
              ],
            },
          },
        },
      },
    });
    const bad = await h.jobDone('bad');
    expect(bad.status?.conditions?.[0]).toMatchObject({
      type: 'Failed',
      reason: 'BackoffLimitExceeded',
    });
    const [badPod] = await h.podsOf('bad');
    expect(badPod?.status?.phase).toBe('Failed');
    expect(badPod?.status?.containerStatuses?.[0]?.state?.terminated?.exitCode).not.toBe(0);
    expect(await kubectl('logs', badPod?.metadata?.name ?? '')).toMatch(
      /required option '--volume <path>' not specified/,
    );

    // restartPolicy OnFailure: the container fails once, is restarted with its emptyDir kept, then succeeds.
    await cluster.clients.core.createNamespacedPod({
      namespace: NS,
      body: {
        metadata: { name: 'flaky' },
        spec: {
          restartPolicy: 'OnFailure',
          volumes: [{ name: 'scratch', emptyDir: {} }],
          containers: [
            {
              name: 'c',
              image: IMAGE,
              command: [
                'sh',
                '-c',
                'if [ -e /scratch/once ]; then echo second; else touch /scratch/once; echo first; exit 1; fi',
              ],
              volumeMounts: [{ name: 'scratch', mountPath: '/scratch' }],
            },
          ],
        },
      },
    });
    const flaky = await waitFor('the flaky pod to succeed', async () => {
      const p = await cluster.clients.core.readNamespacedPod({ name: 'flaky', namespace: NS });
      return p.status?.phase === 'Succeeded' ? p : undefined;
    });
    expect(flaky.status?.containerStatuses?.[0]).toMatchObject({
      restartCount: 1,
      lastState: { terminated: expect.objectContaining({ exitCode: 1 }) },
    });
    expect(await kubectl('logs', 'flaky')).toBe('first\nsecond\n');

    await cluster.clients.apps.createNamespacedDeployment({
      namespace: NS,
      body: {
        metadata: { name: 'keys' },
        spec: {
          replicas: 2,
          selector: { matchLabels: { app: 'keys' } },
          template: {
            metadata: { labels: { app: 'keys' } },
            spec: {
              containers: [
                { name: 'k', image: IMAGE, command: ['sh', '-c', 'echo up; exec sleep 600'] },
              ],
            },
          },
        },
      },
    });
    const dep = await waitFor('two ready replicas', async () => {
      const d = await cluster.clients.apps.readNamespacedDeployment({
        name: 'keys',
        namespace: NS,
      });
      return d.status?.readyReplicas === 2 ? d : undefined;
    });
    expect(dep.status?.availableReplicas).toBe(2);
    const pods = (
      await cluster.clients.core.listNamespacedPod({ namespace: NS, labelSelector: 'app=keys' })
    ).items;
    expect(new Set(pods.map((p) => p.status?.podIP)).size).toBe(2);
    // Delete one pod: the kubelet stops it, the Deployment replaces it.
    const victim = pods[0]?.metadata?.name ?? '';
    await cluster.clients.core.deleteNamespacedPod({ name: victim, namespace: NS });
    await waitFor('the replacement', async () => {
      const now = (
        await cluster.clients.core.listNamespacedPod({ namespace: NS, labelSelector: 'app=keys' })
      ).items;
      const live = now.filter((p) => p.metadata?.name !== victim && p.status?.phase === 'Running');
      return live.length === 2 && !now.some((p) => p.metadata?.name === victim) ? true : undefined;
    });
    await cluster.clients.apps.deleteNamespacedDeployment({ name: 'keys', namespace: NS });
  });

  it('keeps pods of other images Pending', async () => {
    await cluster.clients.core.createNamespacedPod({
      namespace: NS,
      body: {
        metadata: { name: 'nginx' },
        spec: { containers: [{ name: 'web', image: 'nginx:1.25' }] },
      },
    });
    const pod = await waitFor('the pod to be scheduled and waiting', async () => {
      const p = await cluster.clients.core.readNamespacedPod({ name: 'nginx', namespace: NS });
      return p.status?.containerStatuses?.[0]?.state?.waiting ? p : undefined;
    });
    expect(pod.spec?.nodeName).toBe(cluster.nodeName);
    expect(pod.status?.phase).toBe('Pending');
    expect(pod.status?.containerStatuses?.[0]?.state?.waiting?.reason).toBe('ErrImageNeverPull');
  });
});
