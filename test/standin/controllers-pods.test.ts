import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { mkdtemp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { V1Container, V1Pod } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { endpointDeployment } from '../../plugin/src/plan/objects.ts';
import { spawnContainer } from './controllers/container-process.ts';
import { scribeEntrypoints } from './controllers/kubelet.ts';
import {
  containerEnv,
  expandVars,
  imagePolicy,
  pinWildcardListen,
  planContainer,
  rewritePaths,
  type PlanContext,
} from './controllers/pod-plan.ts';
import { podPhase, podStatus, type ContainerRecord } from './controllers/pod-status.ts';
import { startTcpProxy } from './controllers/tcp-proxy.ts';

const root = typeof process.getuid === 'function' && process.getuid() === 0;

const pod: V1Pod = {
  metadata: { name: 'recv-x1', namespace: 'app', uid: 'U1', labels: { app: 'r' } },
  spec: { containers: [], nodeName: 'node-1' },
};

function ctx(over: Partial<PlanContext> = {}): PlanContext {
  return {
    podIP: '127.10.0.9',
    nodeName: 'node-1',
    hostIP: '127.0.0.1',
    volumes: new Map([
      ['volume', { hostPath: '/pool/volumes/pvc-1', kind: 'dir', readOnly: false }],
      ['keys', { hostPath: '/pods/x/volumes/keys', kind: 'dir', readOnly: true }],
      ['blk', { hostPath: '/dev/loop7', kind: 'device', readOnly: false }],
    ]),
    secrets: new Map([['creds', { user: 'scribe' }]]),
    configMaps: new Map(),
    entrypoints: scribeEntrypoints('/repo'),
    noop: ['sleep', '2147483647'],
    policy: 'run',
    baseEnv: { PATH: '/usr/bin' },
    ...over,
  };
}

describe('pod plans', () => {
  it('expands $(VAR) as Kubernetes does', () => {
    const env = { A: 'x', EMPTY: '' };
    expect(expandVars('$(A)-$(B)', env)).toBe('x-$(B)');
    expect(expandVars('$$(A) $(EMPTY)|', env)).toBe('$(A) |');
    expect(expandVars('cost: $5 $(A', env)).toBe('cost: $5 $(A');
  });

  it('builds the environment: downward API, secret keys, earlier names', () => {
    const c: V1Container = {
      name: 'mover',
      env: [
        { name: 'POD_IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } },
        { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
        { name: 'NS', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
        { name: 'USER', valueFrom: { secretKeyRef: { name: 'creds', key: 'user' } } },
        { name: 'ADDR', value: '$(POD_IP):2222' },
      ],
    };
    expect(containerEnv(pod, c, ctx())).toMatchObject({
      POD_IP: '127.10.0.9',
      POD_NAME: 'recv-x1',
      NS: 'app',
      USER: 'scribe',
      ADDR: '127.10.0.9:2222',
    });
    const missing = {
      name: 'm',
      env: [{ name: 'X', valueFrom: { secretKeyRef: { name: 'creds', key: 'nope' } } }],
    };
    expect(() => containerEnv(pod, missing, ctx())).toThrow(
      /couldn't find key nope in Secret app\/creds/,
    );
  });

  it("maps Scribe's entrypoints to the project's scripts and pins wildcard listens to the pod", () => {
    const c: V1Container = {
      name: 'mover',
      image: 'ghcr.io/backube/scribe:latest',
      command: ['scribe-mover'],
      args: ['receive', '--volume', '/data', '--listen', '0.0.0.0:2222'],
      volumeMounts: [
        { name: 'volume', mountPath: '/data' },
        { name: 'keys', mountPath: '/keys', readOnly: true },
      ],
      volumeDevices: [{ name: 'blk', devicePath: '/dev/scribe-volume' }],
    };
    const plan = planContainer(pod, c, ctx());
    expect(plan.argv).toEqual([
      process.execPath,
      '/repo/mover/bin/scribe-mover.js',
      'receive',
      '--volume',
      '/data',
      '--listen',
      '127.10.0.9:2222',
    ]);
    expect(plan.mounts).toEqual([
      { hostPath: '/pool/volumes/pvc-1', containerPath: '/data', readOnly: false, kind: 'dir' },
      { hostPath: '/pods/x/volumes/keys', containerPath: '/keys', readOnly: true, kind: 'dir' },
      {
        hostPath: '/dev/loop7',
        containerPath: '/dev/scribe-volume',
        readOnly: false,
        kind: 'device',
      },
    ]);
    expect(
      rewritePaths({
        ...plan,
        argv: [...plan.argv, '--key=/keys/client'],
        env: { K: '/keys/host' },
      }),
    ).toMatchObject({
      argv: expect.arrayContaining(['/pool/volumes/pvc-1', '--key=/pods/x/volumes/keys/client']),
      env: { K: '/pods/x/volumes/keys/host' },
    });
    expect(pinWildcardListen(['--listen=[::]:80', '10.0.0.1:80'], '127.1.1.1')).toEqual([
      '--listen=127.1.1.1:80',
      '10.0.0.1:80',
    ]);
    expect(() =>
      planContainer(pod, { ...c, volumeMounts: [{ name: 'blk', mountPath: '/b' }] }, ctx()),
    ).toThrow(/use volumeDevices/);
    expect(() =>
      planContainer(pod, { name: 'x', image: 'ghcr.io/backube/scribe:v1' }, ctx()),
    ).toThrow(/no default entrypoint/);
  });

  it("runs the plugin's own endpoint Deployment as the mover's receiver (the image has no default entrypoint)", () => {
    const dep = endpointDeployment({
      name: 'scribe-dst-data',
      namespace: 'app',
      pvc: 'data',
      secret: 'scribe-dst-data',
      image: 'ghcr.io/backube/scribe:v0.1.0',
      volumeMode: 'Filesystem',
      serviceType: 'ClusterIP',
    });
    const c = dep.spec!.template.spec!.containers[0]!;
    const volumes = new Map(ctx().volumes).set('data', {
      hostPath: '/pool/volumes/pvc-2',
      kind: 'dir',
      readOnly: false,
    });
    const plan = planContainer(pod, c, ctx({ volumes }));
    expect(plan.argv.slice(0, 5)).toEqual([
      process.execPath,
      '/repo/mover/bin/scribe-mover.js',
      'receive',
      '--volume',
      '/data',
    ]);
    expect(plan.argv).toContain('127.10.0.9:2222');
  });

  it("runs only Scribe's image unless no-ops are asked for", () => {
    expect(imagePolicy('ghcr.io/backube/scribe:latest', false)).toBe('run');
    expect(imagePolicy('ghcr.io/backube/scribe-evil:latest', false)).toBe('pending');
    expect(imagePolicy('busybox', true)).toBe('noop');
    expect(
      planContainer(
        pod,
        { name: 'b', image: 'busybox', command: ['wget'] },
        ctx({ policy: 'noop' }),
      ).argv,
    ).toEqual(['sleep', '2147483647']);
  });

  it('reports phase and container states like the kubelet', () => {
    const t0 = new Date('2026-01-01T00:00:00Z');
    const c = (current: ContainerRecord['current'], restarting = false): ContainerRecord => ({
      name: 'c',
      image: 'i',
      current,
      restartCount: 0,
      restarting,
    });
    const rec = { hostIP: '127.0.0.1', podIP: '127.10.0.9', startTime: t0, init: [] };
    expect(podPhase({ ...rec, main: [c({ state: 'running', startedAt: t0, ready: true })] })).toBe(
      'Running',
    );
    expect(
      podPhase({
        ...rec,
        main: [
          c({
            state: 'terminated',
            exitCode: 0,
            reason: 'Completed',
            startedAt: t0,
            finishedAt: t0,
          }),
        ],
      }),
    ).toBe('Succeeded');
    expect(
      podPhase({
        ...rec,
        main: [
          c(
            { state: 'terminated', exitCode: 3, reason: 'Error', startedAt: t0, finishedAt: t0 },
            true,
          ),
        ],
      }),
    ).toBe('Running');
    const failed = {
      ...rec,
      main: [
        c({ state: 'terminated', exitCode: 3, reason: 'Error', startedAt: t0, finishedAt: t0 }),
      ],
    };
    const st = podStatus(pod, failed, t0);
    expect(st.phase).toBe('Failed');
    expect(st.containerStatuses?.[0]?.state?.terminated).toMatchObject({
      exitCode: 3,
      reason: 'Error',
    });
    expect(st.conditions?.find((x) => x.type === 'Ready')).toMatchObject({
      status: 'False',
      reason: 'PodCompleted',
    });
    expect(st.podIP).toBe('127.10.0.9');
  });
});

describe('containers as processes', () => {
  let work: string;
  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'standin-ct-'));
    await mkdir(join(work, 'vol'));
    await writeFile(join(work, 'vol', 'hello'), 'from the volume');
    await mkdir(join(work, 'keys'));
    await writeFile(join(work, 'keys', 'k'), 'secret');
    await writeFile(join(work, 'dev.img'), Buffer.alloc(4096, 7));
  });
  afterAll(async () => {
    await rm(work, { recursive: true, force: true });
  });

  const mounts = () => [
    { hostPath: join(work, 'vol'), containerPath: '/data', readOnly: false, kind: 'dir' as const },
    { hostPath: join(work, 'keys'), containerPath: '/keys', readOnly: true, kind: 'dir' as const },
    {
      hostPath: join(work, 'keys'),
      containerPath: '/var/run/secrets/kubernetes.io/serviceaccount',
      readOnly: true,
      kind: 'dir' as const,
    },
    {
      hostPath: join(work, 'dev.img'),
      containerPath: '/dev/scribe-volume',
      readOnly: false,
      kind: 'device' as const,
    },
  ];

  it.skipIf(!root)(
    'sees its volumes at their mount paths in its own mount namespace, and the host sees none',
    async () => {
      const script = [
        'cat /data/hello; echo',
        'cat /keys/k; echo',
        'touch /keys/new 2>/dev/null && echo keys-writable || echo keys-read-only',
        'stat -c %s /dev/scribe-volume',
        'cat /var/run/secrets/kubernetes.io/serviceaccount/k; echo',
        'echo written > /data/out',
        'pwd',
      ].join('; ');
      const p = await spawnContainer({
        plan: {
          name: 'c',
          argv: ['sh', '-c', script],
          env: { PATH: '/usr/bin:/bin' },
          mounts: mounts(),
        },
        dir: join(work, 'c1'),
        logFile: join(work, 'c1.log'),
        cwd: '/tmp',
        namespaces: true,
      });
      expect(await p.exited).toEqual({ code: 0, signal: null });
      const out = await readFile(join(work, 'c1.log'), 'utf8');
      expect(out.split('\n')).toEqual([
        'from the volume',
        'secret',
        'keys-read-only',
        '4096',
        'secret',
        '/tmp',
        '',
      ]);
      expect(await readFile(join(work, 'vol', 'out'), 'utf8')).toBe('written\n');
      expect(existsSync('/data')).toBe(false);
      expect(existsSync('/keys')).toBe(false);
      expect(existsSync('/run/secrets/kubernetes.io')).toBe(false);
      expect(existsSync('/dev/scribe-volume')).toBe(false);
    },
  );

  it('without a namespace runs with paths rewritten to the host, and stops on SIGTERM', async () => {
    const p = await spawnContainer({
      plan: {
        name: 'c',
        argv: [
          'sh',
          '-c',
          'cat "$0"; echo; cat "$K"; echo; trap "echo bye; exit 0" TERM; while :; do sleep 0.1; done',
          '/data/hello',
        ],
        env: { PATH: '/usr/bin:/bin', K: '/keys/k' },
        mounts: mounts(),
      },
      dir: join(work, 'c2'),
      logFile: join(work, 'c2.log'),
      cwd: '/tmp',
      namespaces: false,
    });
    await new Promise((r) => setTimeout(r, 500));
    await p.stop(5_000);
    expect(await p.exited).toEqual({ code: 0, signal: null });
    expect(await readFile(join(work, 'c2.log'), 'utf8')).toMatch(
      /^from the volume\nsecret\n(Terminated\n)?bye\n$/,
    );
  });

  it('kills a container that ignores SIGTERM after the grace period', async () => {
    const p = await spawnContainer({
      plan: {
        name: 'c',
        argv: ['sh', '-c', 'trap "" TERM; while :; do sleep 0.1; done'],
        env: { PATH: '/usr/bin:/bin' },
        mounts: [],
      },
      dir: join(work, 'c3'),
      logFile: join(work, 'c3.log'),
      cwd: '/tmp',
      namespaces: false,
    });
    await new Promise((r) => setTimeout(r, 300));
    const t = Date.now();
    await p.stop(500);
    expect((await p.exited).signal).toBe('SIGKILL');
    expect(Date.now() - t).toBeLessThan(3_000);
  });
});

describe('service proxies', () => {
  it('forwards to the backend chosen per connection and refuses when there is none', async () => {
    const echo = createServer((s) => s.pipe(s));
    echo.listen(0, '127.77.0.2');
    await once(echo, 'listening');
    const port = (echo.address() as { port: number }).port;
    let backend: { host: string; port: number } | undefined = { host: '127.77.0.2', port };
    const proxy = await startTcpProxy('127.77.0.3', port, () => backend);
    try {
      const s = connect({ host: '127.77.0.3', port });
      await once(s, 'connect');
      s.write('ping');
      const [data] = (await once(s, 'data')) as [Buffer];
      expect(data.toString()).toBe('ping');
      s.destroy();
      backend = undefined;
      const refused = connect({ host: '127.77.0.3', port });
      const [err] = (await once(refused, 'error')) as [NodeJS.ErrnoException];
      expect(err.code).toBe('ECONNRESET');
    } finally {
      await proxy.close();
      echo.close();
    }
  });
});
