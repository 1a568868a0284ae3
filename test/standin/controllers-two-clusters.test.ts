import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { harness, moverKeys, receiverArgs, senderArgs, waitFor } from './cluster-testing.ts';
import { makeClients } from './controllers/kube.ts';

const cli = fileURLToPath(new URL('./cli.ts', import.meta.url));

let work: string;
let kubeconfig: string;
let child: ChildProcess;
let output = '';
let exited: Promise<number | null>;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'standin-two-'));
  kubeconfig = join(work, 'kubeconfig');
  // `npm run stand-in -- --kubeconfig FILE`, as people and outside checks start it.
  child = spawn(
    process.execPath,
    [cli, '--kubeconfig', kubeconfig, '--dir', join(work, 'clusters'), '--address-block', '25'],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  child.stdout?.setEncoding('utf8').on('data', (s: string) => (output += s));
  child.stderr?.setEncoding('utf8').on('data', (s: string) => (output += s));
  exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
  await waitFor(
    'the stand-in to say it is ready',
    async () => (output.includes('stand-in ready') ? true : undefined),
    60_000,
  ).catch((err: unknown) => {
    throw new Error(`${(err as Error).message}\n${output}`);
  });
});

afterAll(async () => {
  if (child.exitCode === null && child.signalCode === null) {
    child.kill('SIGKILL');
    await exited;
  }
  await rm(work, { recursive: true, force: true });
});

describe('two clusters from `npm run stand-in`', () => {
  it('replicates a volume from the source cluster to the destination cluster through its load balancer', async () => {
    const text = await readFile(kubeconfig, 'utf8');
    const src = harness(makeClients(text, 'source'));
    const dstClients = makeClients(text, 'destination');
    const dst = harness(dstClients);
    expect(makeClients(text, 'source').kc.getCurrentCluster()?.server).not.toBe(
      dstClients.kc.getCurrentCluster()?.server,
    );

    const keys = await moverKeys(join(work, 'keys'));
    await dst.secretFrom('keys', { host_ed25519: keys.host, 'client_ed25519.pub': keys.clientPub });
    await src.secretFrom('keys', { client_ed25519: keys.client, 'host_ed25519.pub': keys.hostPub });
    const from = await src.claimPath('app-data');
    const to = await dst.claimPath('app-data');
    await mkdir(join(from, 'db'));
    await writeFile(join(from, 'db', 'rows'), 'row 1\nrow 2\n');

    await dst.createMoverJob({
      name: 'receive',
      claim: 'app-data',
      secret: 'keys',
      container: {
        args: receiverArgs,
        ports: [{ name: 'mover', containerPort: 2222 }],
        readinessProbe: { tcpSocket: { port: 2222 }, periodSeconds: 1 },
      },
      labels: { app: 'receiver' },
      readOnly: false,
    });
    await dstClients.core.createNamespacedService({
      namespace: 'default',
      body: {
        metadata: { name: 'receiver' },
        spec: {
          type: 'LoadBalancer',
          selector: { app: 'receiver' },
          ports: [{ port: 2222, targetPort: 2222 }],
        },
      },
    });
    const lb = await waitFor('the destination load balancer', async () => {
      const s = await dstClients.core.readNamespacedService({
        name: 'receiver',
        namespace: 'default',
      });
      return s.status?.loadBalancer?.ingress?.[0]?.ip;
    });
    expect(lb).toMatch(/^127\.96\./); // the destination's load-balancer block (70 + 25 + 1)
    await src.createMoverJob({
      name: 'send',
      claim: 'app-data',
      secret: 'keys',
      container: { args: senderArgs(`${lb}:2222`) },
      labels: { app: 'sender' },
      readOnly: true,
    });
    const sent = await src.jobDone('send');
    const received = await dst.jobDone('receive');
    expect(sent.status?.conditions?.[0]?.type).toBe('Complete');
    expect(received.status?.conditions?.[0]?.type).toBe('Complete');
    expect(await readFile(join(to, 'db', 'rows'), 'utf8')).toBe('row 1\nrow 2\n');
  });

  it('stops on SIGTERM and leaves no kubeconfig, mount or loop device behind', async () => {
    const devices = [...output.matchAll(/on (\/dev\/loop\d+)/g)].map((m) => m[1] as string);
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(output).toMatch(/SIGTERM: stopping the stand-in clusters\nstopped/);
    expect(existsSync(kubeconfig)).toBe(false);
    const mounts = await readFile('/proc/self/mounts', 'utf8');
    expect(mounts).not.toContain(work);
    for (const dev of devices) {
      const backing = await readFile(`/sys/block/${dev.slice(5)}/loop/backing_file`, 'utf8').catch(
        () => '',
      );
      expect(backing).not.toContain(work);
    }
  });
});
