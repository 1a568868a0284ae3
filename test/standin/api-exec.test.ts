// pods/exec on the stand-in, driven by the real kubectl (v1.32 speaks
// WebSocket first) and by @kubernetes/client-node's Exec: the command runs in
// the container's environment and sees its volume; exit codes, stderr and
// stdin come back; errors are the apiserver's (404, 400, 403).
import { spawn } from 'node:child_process';
import { request } from 'node:https';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { Exec, KubeConfig, type V1Status } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execContainer, exitStatus, parseExecOptions } from './api/exec.ts';
import { acceptKey, chooseProtocol, encodeFrame, parseFrames } from './api/websocket.ts';
import { harness, SCRIBE_IMAGE, waitFor } from './cluster-testing.ts';
import { startCluster, type Cluster } from './cluster.ts';

const NS = 'default';

let work: string;
let cluster: Cluster;
let kubeconfigPath: string;
let volume: string;

async function kubectl(
  args: string[],
  stdin?: string,
): Promise<{ code: number; stdout: string; stderr: string }> {
  const child = spawn('kubectl', ['--kubeconfig', kubeconfigPath, ...args], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  child.stdin.end(stdin ?? '');
  const code = await new Promise<number>((r) => child.once('exit', (c) => r(c ?? -1)));
  return { code, stdout, stderr };
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'standin-exec-'));
  cluster = await startCluster({
    name: 'exec',
    dir: work,
    storageSizeMiB: 512,
    log: process.env.STANDIN_LOG ? (m) => console.error(m) : () => undefined,
  });
  kubeconfigPath = join(work, 'kubeconfig');
  await cluster.api.writeKubeconfig(kubeconfigPath, 'exec');
  volume = await harness(cluster.clients, NS).claimPath('app-data');
  await cluster.clients.core.createNamespacedPod({
    namespace: NS,
    body: {
      metadata: { name: 'app' },
      spec: {
        containers: [
          {
            name: 'db',
            image: SCRIBE_IMAGE,
            command: ['sleep', '3600'],
            workingDir: '/',
            env: [{ name: 'GREETING', value: 'hello from db' }],
            volumeMounts: [{ name: 'data', mountPath: '/var/lib/db' }],
          },
          { name: 'side', image: SCRIBE_IMAGE, command: ['sleep', '3600'] },
        ],
        volumes: [{ name: 'data', persistentVolumeClaim: { claimName: 'app-data' } }],
      },
    },
  });
  await waitFor('pod app to run', async () => {
    const p = await cluster.clients.core.readNamespacedPod({ name: 'app', namespace: NS });
    return p.status?.phase === 'Running' ? p : undefined;
  });
}, 120_000);

afterAll(async () => {
  await cluster?.stop();
  await rm(work, { recursive: true, force: true });
});

describe('the WebSocket and exec pieces', () => {
  it('answers the handshake key of RFC 6455 section 1.3', () => {
    expect(acceptKey('dGhlIHNhbXBsZSBub25jZQ==')).toBe('s3pPLMBiTxaQ9kYGzzhZRbK+xOo=');
  });

  it('picks the first offered subprotocol it serves', () => {
    const served = ['v5.channel.k8s.io', 'v4.channel.k8s.io'];
    expect(chooseProtocol('v5.channel.k8s.io, v4.channel.k8s.io', served)).toBe(
      'v5.channel.k8s.io',
    );
    expect(chooseProtocol('v4.channel.k8s.io,channel.k8s.io', served)).toBe('v4.channel.k8s.io');
    expect(chooseProtocol('channel.k8s.io', served)).toBeUndefined();
  });

  it('reads masked, fragmented client frames and keeps an incomplete one', () => {
    const masked = (fin: boolean, op: number, data: Buffer) => {
      const mask = Buffer.from([1, 2, 3, 4]);
      const body = Buffer.from(data.map((b, i) => b ^ mask[i % 4]!));
      return Buffer.concat([Buffer.from([(fin ? 0x80 : 0) | op, 0x80 | data.length]), mask, body]);
    };
    const two = Buffer.concat([
      masked(false, 2, Buffer.from('ab')),
      masked(true, 0, Buffer.from('c')),
    ]);
    const partial = masked(true, 2, Buffer.from('xyz')).subarray(0, 5);
    const { frames, rest } = parseFrames(Buffer.concat([two, partial]));
    expect(frames.map((f) => [f.fin, f.opcode, f.payload.toString()])).toEqual([
      [false, 2, 'ab'],
      [true, 0, 'c'],
    ]);
    expect(rest.length).toBe(5);
    expect(() => parseFrames(encodeFrame(2, Buffer.from('x')))).toThrow(/not masked/);
    expect(encodeFrame(2, Buffer.alloc(300)).subarray(0, 4)).toEqual(
      Buffer.from([0x82, 126, 1, 44]),
    );
  });

  it('checks the options and the container as the apiserver does', () => {
    expect(() => parseExecOptions(new URLSearchParams('stdout=true'))).toThrow(
      'you must specify at least 1 command',
    );
    expect(() => parseExecOptions(new URLSearchParams('command=ls'))).toThrow(
      'you must specify at least one of stdin, stdout, stderr',
    );
    const pod = {
      metadata: { name: 'p' },
      spec: { nodeName: 'n', containers: [{ name: 'a' }, { name: 'b' }] },
      status: { phase: 'Running' },
    };
    expect(() => execContainer(pod, undefined)).toThrow(
      'a container name must be specified for pod p, choose one of: [a b]',
    );
    expect(() => execContainer(pod, 'c')).toThrow('container c is not valid for pod p');
    expect(execContainer(pod, 'b')).toBe('b');
    expect(() => execContainer({ ...pod, status: { phase: 'Succeeded' } }, 'a')).toThrow(
      'cannot exec into a container in a completed pod; current phase is Succeeded',
    );
    expect(exitStatus(3, ['sh', '-c', 'exit 3'])).toMatchObject({
      status: 'Failure',
      reason: 'NonZeroExitCode',
      details: { causes: [{ reason: 'ExitCode', message: '3' }] },
    });
  });
});

describe('kubectl exec', () => {
  it('runs in the container: its volume, working directory and environment', async () => {
    const r = await kubectl([
      'exec',
      'app',
      '-c',
      'db',
      '--',
      'sh',
      '-c',
      'echo "$GREETING"; pwd; echo written > /var/lib/db/marker; echo oops >&2',
    ]);
    expect(r).toEqual({ code: 0, stdout: `hello from db\n${process.cwd()}\n`, stderr: 'oops\n' });
    // The file is on the claim's volume, not the host's /var/lib/db.
    expect(await readFile(join(volume, 'marker'), 'utf8')).toBe('written\n');
  });

  it('passes stdin with -i and the exit code back', async () => {
    const cat = await kubectl(['exec', '-i', 'app', '-c', 'db', '--', 'cat'], 'piped\n');
    expect(cat).toMatchObject({ code: 0, stdout: 'piped\n' });
    const fail = await kubectl(['exec', 'app', '-c', 'db', '--', 'sh', '-c', 'exit 3']);
    expect(fail.code).toBe(3);
    expect(fail.stderr).toContain('command terminated with exit code 3');
  });

  it('refuses as the apiserver does: no pod, no such container, no container name', async () => {
    const none = await kubectl(['exec', 'ghost', '--', 'true']);
    expect(none.code).toBe(1);
    expect(none.stderr).toContain('Error from server (NotFound): pods "ghost" not found');
    const bad = await kubectl(['exec', 'app', '-c', 'nope', '--', 'true']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('container nope is not valid for pod app');
  });

  it('refuses a pod without a node, and a container that is not running, with 400', async () => {
    await cluster.clients.core.createNamespacedPod({
      namespace: NS,
      body: {
        metadata: { name: 'waiting' },
        spec: {
          containers: [{ name: 'c', image: SCRIBE_IMAGE, command: ['sleep', '3600'] }],
          volumes: [{ name: 'v', persistentVolumeClaim: { claimName: 'never-made' } }],
        },
      },
    });
    const unscheduled = await kubectl(['exec', 'waiting', '-c', 'c', '--', 'true']);
    expect(unscheduled).toMatchObject({
      code: 1,
      stderr: 'Error from server (BadRequest): pod waiting does not have a host assigned\n',
    });
    await cluster.clients.core.createNamespacedPod({
      namespace: NS,
      body: {
        metadata: { name: 'initializing' },
        spec: {
          // The init container never ends: c waits (PodInitializing) on a node.
          initContainers: [{ name: 'init', image: SCRIBE_IMAGE, command: ['sleep', '3600'] }],
          containers: [{ name: 'c', image: SCRIBE_IMAGE, command: ['sleep', '3600'] }],
        },
      },
    });
    await waitFor('the init container to run', async () => {
      const p = await cluster.clients.core.readNamespacedPod({
        name: 'initializing',
        namespace: NS,
      });
      return p.status?.initContainerStatuses?.[0]?.state?.running ? p : undefined;
    });
    const notRunning = await kubectl(['exec', 'initializing', '-c', 'c', '--', 'true']);
    expect(notRunning).toMatchObject({
      code: 1,
      stderr:
        'Error from server (BadRequest): unable to upgrade connection: container not found ("c")\n',
    });
  });
});

describe('client-node Exec', () => {
  const kc = (): KubeConfig => {
    const k = new KubeConfig();
    k.loadFromString(JSON.stringify(cluster.api.kubeconfig('exec', NS)));
    return k;
  };
  const sink = () => {
    let text = '';
    const w = new Writable({
      write(chunk: Buffer, _e, cb) {
        text += chunk.toString();
        cb();
      },
    });
    return { w, text: () => text };
  };
  // The default handler's streams are this process's; the stand-in, like
  // kube-apiserver, never sends the v5 close signal that would end them.
  const exec = (k: KubeConfig) => new Exec(k);

  const run = async (k: KubeConfig, container: string, command: string[]) => {
    const out = sink();
    const err = sink();
    const status = await new Promise<V1Status>((resolve, reject) => {
      exec(k).exec(NS, 'app', container, command, out.w, err.w, null, false, resolve).catch(reject);
    });
    return { status, stdout: out.text(), stderr: err.text() };
  };

  it('gets output and a Success status, or the exit code as a cause', async () => {
    const ok = await run(kc(), 'db', ['cat', '/var/lib/db/marker']);
    expect(ok).toEqual({
      status: { metadata: {}, status: 'Success' },
      stdout: 'written\n',
      stderr: '',
    });
    const fail = await run(kc(), 'db', ['sh', '-c', 'echo no >&2; exit 7']);
    expect(fail.stderr).toBe('no\n');
    expect(fail.status.status).toBe('Failure');
    expect(fail.status.details?.causes).toEqual([{ reason: 'ExitCode', message: '7' }]);
  });

  it('is refused for a read-only user (create on pods/exec)', async () => {
    const k = kc();
    const user = k.getCurrentUser()!;
    (user as { token?: string }).token = cluster.api.readOnlyToken;
    await expect(run(k, 'db', ['true'])).rejects.toThrow(/403/);
    const res = await fetchStatus(
      `/api/v1/namespaces/${NS}/pods/app/exec?command=true&stdout=1`,
      cluster.api.readOnlyToken,
    );
    expect(res).toMatchObject({
      code: 403,
      message: `pods "app" is forbidden: User "viewer" cannot create resource "pods/exec" in API group "" in the namespace "${NS}"`,
    });
  });

  it('answers a plain request (no upgrade) with 400 once the checks pass', async () => {
    const res = await fetchStatus(
      `/api/v1/namespaces/${NS}/pods/app/exec?command=true&stdout=1&container=db`,
      cluster.api.token,
    );
    expect(res).toMatchObject({
      code: 400,
      reason: 'BadRequest',
      message: 'Upgrade request required',
    });
  });
});

async function fetchStatus(path: string, token: string): Promise<V1Status> {
  return new Promise((resolve, reject) => {
    const r = request(
      `${cluster.api.url}${path}`,
      { ca: cluster.api.caPem, headers: { Authorization: `Bearer ${token}` } },
      (res) => {
        let body = '';
        res.on('data', (d: Buffer) => (body += d.toString()));
        res.on('end', () => resolve(JSON.parse(body) as V1Status));
      },
    );
    r.on('error', reject);
    r.end();
  });
}
