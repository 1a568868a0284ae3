import type {
  V1Job,
  V1PersistentVolume,
  V1PersistentVolumeClaim,
  V1Pod,
  V1Service,
  V1StorageClass,
} from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { DRIVER } from './controllers/names.ts';
import {
  buildPersistentVolume,
  decideClaim,
  decideVolume,
  type ClaimInputs,
} from './controllers/provisioning.ts';
import { formatBytes, parseQuantity } from './controllers/quantity.ts';
import { decideSnapshot, pickClass, type VolumeSnapshotClass } from './controllers/snapshots.ts';
import { decideDeployment, decideJob, templateHash } from './controllers/workloads.ts';
import { endpointsFor, pickBackend } from './controllers/services.ts';
import { addressPool } from './controllers/addresses.ts';

const csi: V1StorageClass = {
  metadata: { name: 'standin-csi' },
  provisioner: DRIVER,
  parameters: { clone: 'true', snapshot: 'true' },
  reclaimPolicy: 'Delete',
  volumeBindingMode: 'Immediate',
};
const basic: V1StorageClass = {
  ...csi,
  metadata: { name: 'standin-basic' },
  parameters: { clone: 'false', snapshot: 'false' },
};

function claim(
  name: string,
  extra: Partial<NonNullable<V1PersistentVolumeClaim['spec']>> = {},
): V1PersistentVolumeClaim {
  return {
    metadata: { name, namespace: 'app', uid: `uid-${name}`, resourceVersion: '7' },
    spec: {
      accessModes: ['ReadWriteOnce'],
      resources: { requests: { storage: '1Gi' } },
      storageClassName: 'standin-csi',
      volumeMode: 'Filesystem',
      ...extra,
    },
    status: { phase: 'Pending' },
  };
}

function boundPair(
  name: string,
  sc = csi,
): { pvc: V1PersistentVolumeClaim; pv: V1PersistentVolume } {
  const pvc = claim(name, { storageClassName: sc.metadata?.name, volumeName: `pvc-uid-${name}` });
  pvc.status = { phase: 'Bound' };
  const pv = buildPersistentVolume(pvc, sc, `pvc-uid-${name}`, {
    path: '/x',
    node: 'n1',
    sizeBytes: 2 ** 30,
    mode: 'Filesystem',
  });
  return { pvc, pv };
}

describe('quantities', () => {
  it('parses and formats storage sizes like the API', () => {
    expect(parseQuantity('1Gi')).toBe(2 ** 30);
    expect(parseQuantity('500M')).toBe(5e8);
    expect(parseQuantity('1.5Ki')).toBe(1536);
    expect(parseQuantity('2e3')).toBe(2000);
    expect(() => parseQuantity('1 GB')).toThrow(/quantities must match/);
    expect(formatBytes(2 ** 30)).toBe('1Gi');
    expect(formatBytes(1536 * 2 ** 20)).toBe('1536Mi');
    expect(formatBytes(1000)).toBe('1000');
  });
});

describe('provisioning decisions', () => {
  const base = (pvc: V1PersistentVolumeClaim, more: Partial<ClaimInputs> = {}): ClaimInputs => ({
    pvc,
    storageClass: csi,
    ...more,
  });

  it('provisions an empty volume of the requested size and mode', () => {
    const d = decideClaim(base(claim('a', { volumeMode: 'Block' })));
    expect(d).toEqual({
      action: 'provision',
      pvName: 'pvc-uid-a',
      sizeBytes: 2 ** 30,
      mode: 'Block',
      source: { kind: 'empty' },
    });
  });

  it('leaves claims of other provisioners and classless claims alone', () => {
    expect(
      decideClaim(base(claim('a'), { storageClass: { ...csi, provisioner: 'ebs.csi.aws.com' } }))
        .action,
    ).toBe('ignore');
    expect(decideClaim(base(claim('a', { storageClassName: undefined }))).action).toBe('ignore');
    expect(decideClaim(base(claim('a'), { storageClass: undefined }))).toMatchObject({
      action: 'wait',
      why: expect.stringMatching(/not found/),
    });
  });

  it('clones from a bound claim of the same class, mode and no larger size', () => {
    const src = boundPair('src');
    const pvc = claim('copy', { dataSource: { kind: 'PersistentVolumeClaim', name: 'src' } });
    expect(decideClaim(base(pvc, { sourcePvc: src.pvc, sourcePv: src.pv }))).toMatchObject({
      action: 'provision',
      source: { kind: 'clone', pvName: 'pvc-uid-src' },
    });
    const small = claim('copy', {
      dataSource: { kind: 'PersistentVolumeClaim', name: 'src' },
      resources: { requests: { storage: '512Mi' } },
    });
    expect(decideClaim(base(small, { sourcePvc: src.pvc, sourcePv: src.pv }))).toMatchObject({
      action: 'fail',
      message: expect.stringMatching(/smaller than the source/),
    });
    const block = claim('copy', {
      dataSource: { kind: 'PersistentVolumeClaim', name: 'src' },
      volumeMode: 'Block',
    });
    expect(decideClaim(base(block, { sourcePvc: src.pvc, sourcePv: src.pv }))).toMatchObject({
      action: 'fail',
      message: expect.stringMatching(/same volume mode/),
    });
    expect(decideClaim(base(pvc))).toMatchObject({
      action: 'fail',
      message: expect.stringMatching(/persistentvolumeclaims "src" not found/),
    });
  });

  it('fails a clone or restore on a class without support, naming why, like the external provisioner', () => {
    const pvc = claim('copy', {
      storageClassName: 'standin-basic',
      dataSource: { kind: 'PersistentVolumeClaim', name: 'src' },
    });
    const d = decideClaim(base(pvc, { storageClass: basic }));
    expect(d).toEqual({
      action: 'fail',
      reason: 'ProvisioningFailed',
      message:
        'failed to provision volume with StorageClass "standin-basic": the driver of StorageClass "standin-basic" does not support cloning (dataSource PersistentVolumeClaim "src")',
    });
    const snap = claim('r', {
      storageClassName: 'standin-basic',
      dataSource: { kind: 'VolumeSnapshot', apiGroup: 'snapshot.storage.k8s.io', name: 's' },
    });
    expect(decideClaim(base(snap, { storageClass: basic }))).toMatchObject({
      action: 'fail',
      message: expect.stringMatching(/does not support restoring snapshots/),
    });
  });

  it('restores only a ready snapshot, at least its size', () => {
    const pvc = claim('r', {
      dataSource: { kind: 'VolumeSnapshot', apiGroup: 'snapshot.storage.k8s.io', name: 's' },
    });
    expect(decideClaim(base(pvc, { sourceSnapshot: { readyToUse: false } }))).toMatchObject({
      action: 'fail',
      message: expect.stringMatching(/is not Ready/),
    });
    expect(
      decideClaim(
        base(pvc, {
          sourceSnapshot: {
            readyToUse: true,
            snapshotHandle: 'snapcontent-1',
            restoreSizeBytes: 2 ** 31,
          },
        }),
      ),
    ).toMatchObject({ action: 'fail', message: expect.stringMatching(/less than the size/) });
    expect(
      decideClaim(
        base(pvc, {
          sourceSnapshot: {
            readyToUse: true,
            snapshotHandle: 'snapcontent-1',
            restoreSizeBytes: 2 ** 30,
          },
        }),
      ),
    ).toMatchObject({
      action: 'provision',
      source: { kind: 'snapshot', snapshotHandle: 'snapcontent-1' },
    });
  });

  it('waits for the first consumer when the class says so', () => {
    const wffc = { ...csi, volumeBindingMode: 'WaitForFirstConsumer' };
    expect(decideClaim(base(claim('a'), { storageClass: wffc }))).toMatchObject({
      action: 'wait',
      event: { reason: 'WaitForFirstConsumer' },
    });
    expect(decideClaim(base(claim('a'), { storageClass: wffc, consumerNode: 'n1' })).action).toBe(
      'provision',
    );
  });

  it('binds to the volume made for it, and builds that volume like a local PV', () => {
    const { pv } = boundPair('a');
    expect(pv.spec).toMatchObject({
      capacity: { storage: '1Gi' },
      volumeMode: 'Filesystem',
      storageClassName: 'standin-csi',
      persistentVolumeReclaimPolicy: 'Delete',
      claimRef: { namespace: 'app', name: 'a', uid: 'uid-a' },
      local: { path: '/x' },
    });
    expect(
      pv.spec?.nodeAffinity?.required?.nodeSelectorTerms[0]?.matchExpressions?.[0]?.values,
    ).toEqual(['n1']);
    expect(decideClaim(base(claim('a'), { pv }))).toEqual({ action: 'bind', pv });
    expect(decideClaim(base(claim('b'), { pv })).action).toBe('wait');
  });

  it('releases and reclaims volumes whose claim is gone', () => {
    const { pvc, pv } = boundPair('a');
    expect(decideVolume(pv, pvc)).toEqual({ action: 'phase', phase: 'Bound' });
    expect(decideVolume({ ...pv, status: { phase: 'Bound' } }, pvc)).toEqual({ action: 'none' });
    expect(decideVolume(pv, undefined)).toEqual({ action: 'reclaim' });
    expect(decideVolume(pv, { ...pvc, metadata: { ...pvc.metadata, uid: 'other' } })).toEqual({
      action: 'reclaim',
    });
    const retain = { ...pv, spec: { ...pv.spec, persistentVolumeReclaimPolicy: 'Retain' } };
    expect(decideVolume(retain, undefined)).toEqual({ action: 'phase', phase: 'Released' });
    const deleting = {
      ...pv,
      metadata: {
        ...pv.metadata,
        deletionTimestamp: new Date(),
        finalizers: [
          'kubernetes.io/pv-protection',
          'external-provisioner.volume.kubernetes.io/finalizer',
        ],
      },
    };
    // pv-protection: a volume its claim still uses stays until the claim lets go.
    expect(decideVolume(deleting, pvc)).toEqual({ action: 'none' });
    expect(decideVolume(deleting, undefined)).toEqual({ action: 'finalize', deleteData: true });
  });
});

describe('snapshot decisions', () => {
  const classes: VolumeSnapshotClass[] = [
    {
      metadata: {
        name: 'standin-snap',
        annotations: { 'snapshot.storage.kubernetes.io/is-default-class': 'true' },
      },
      driver: DRIVER,
      deletionPolicy: 'Delete',
    },
    { metadata: { name: 'other' }, driver: 'ebs.csi.aws.com', deletionPolicy: 'Retain' },
  ];
  const vs = {
    metadata: { name: 's', namespace: 'app', uid: 'u1' },
    spec: { source: { persistentVolumeClaimName: 'a' } },
  };

  it("takes the default class for the volume's driver", () => {
    const { pvc, pv } = boundPair('a');
    expect(decideSnapshot({ vs, classes, pvc, pv, storageClass: csi })).toEqual({
      action: 'create',
      contentName: 'snapcontent-u1',
      pvName: 'pvc-uid-a',
      className: 'standin-snap',
      deletionPolicy: 'Delete',
      driver: DRIVER,
    });
    expect(
      pickClass({ ...vs, spec: { ...vs.spec, volumeSnapshotClassName: 'nope' } }, classes, DRIVER),
    ).toMatch(/"nope" not found/);
  });

  it('reports an error for a class of another driver, a class without snapshots, and an unbound claim', () => {
    const { pvc, pv } = boundPair('a');
    const other = { ...vs, spec: { ...vs.spec, volumeSnapshotClassName: 'other' } };
    expect(decideSnapshot({ vs: other, classes, pvc, pv, storageClass: csi })).toMatchObject({
      action: 'error',
      message: expect.stringMatching(/cannot be snapshotted by class other/),
    });
    const b = boundPair('a', basic);
    expect(
      decideSnapshot({ vs, classes, pvc: b.pvc, pv: b.pv, storageClass: basic }),
    ).toMatchObject({
      action: 'error',
      message: expect.stringMatching(/does not support snapshots/),
    });
    expect(decideSnapshot({ vs, classes, pvc: claim('a') })).toMatchObject({
      action: 'error',
      retry: true,
      message: expect.stringMatching(/not yet bound/),
    });
    expect(decideSnapshot({ vs: { ...vs, status: { readyToUse: true } }, classes })).toEqual({
      action: 'none',
    });
  });
});

function pod(
  name: string,
  phase: string,
  owner: string,
  extra: Partial<V1Pod['metadata']> = {},
  ready = false,
): V1Pod {
  return {
    metadata: {
      name,
      namespace: 'app',
      ownerReferences: [{ apiVersion: 'x', kind: 'Job', name: 'j', uid: owner, controller: true }],
      ...extra,
    },
    spec: { containers: [{ name: 'c', ports: [{ name: 'mover', containerPort: 2222 }] }] },
    status: {
      phase,
      podIP: `127.10.0.${name.length}`,
      conditions: [{ type: 'Ready', status: ready ? 'True' : 'False' }],
    },
  };
}

describe('workload decisions', () => {
  const now = new Date('2026-01-01T00:00:00Z');
  const spec = { backoffLimit: 0, template: {} };
  const job: V1Job = { metadata: { name: 'j', namespace: 'app', uid: 'J' }, spec };

  it('runs a job to completion or failure by its backoff limit', () => {
    expect(decideJob(job, [], now)).toMatchObject({ create: 1, status: { startTime: now } });
    expect(decideJob(job, [pod('p', 'Running', 'J')], now)).toMatchObject({
      create: 0,
      status: { active: 1 },
    });
    const done = decideJob(job, [pod('p', 'Succeeded', 'J')], now);
    expect(done.status).toMatchObject({
      succeeded: 1,
      completionTime: now,
      conditions: [{ type: 'Complete', status: 'True' }],
    });
    const failed = decideJob(job, [pod('p', 'Failed', 'J')], now);
    expect(failed.status.conditions?.[0]).toMatchObject({
      type: 'Failed',
      reason: 'BackoffLimitExceeded',
    });
    expect(
      decideJob({ ...job, spec: { ...spec, backoffLimit: 1 } }, [pod('p', 'Failed', 'J')], now)
        .create,
    ).toBe(1);
    expect(decideJob(job, [pod('p', 'Running', 'OTHER')], now).create).toBe(1);
  });

  it('fails a job past its deadline and removes its pods; expires it after its TTL', () => {
    const started = {
      ...job,
      spec: { ...spec, activeDeadlineSeconds: 5 },
      status: { startTime: new Date(now.getTime() - 6000) },
    };
    const d = decideJob(started, [pod('p', 'Running', 'J')], now);
    expect(d.status.conditions?.[0]?.reason).toBe('DeadlineExceeded');
    expect(d.remove.map((p) => p.metadata?.name)).toEqual(['p']);
    const finished = {
      ...job,
      spec: { ...spec, ttlSecondsAfterFinished: 10 },
      status: {
        conditions: [
          {
            type: 'Complete',
            status: 'True',
            lastTransitionTime: new Date(now.getTime() - 11_000),
          },
        ],
      },
    };
    expect(decideJob(finished, [], now).expired).toBe(true);
  });

  it('keeps a deployment at its replicas with the current template', () => {
    const dep = {
      metadata: { name: 'd', namespace: 'app', uid: 'D', generation: 2 },
      spec: { replicas: 2, selector: {}, template: { metadata: { labels: { a: 'b' } } } },
    };
    const hash = templateHash(dep.spec.template);
    const mk = (n: string, h: string, ready: boolean): V1Pod => {
      const p = pod(n, 'Running', 'D', { labels: { 'pod-template-hash': h } }, ready);
      return p;
    };
    expect(decideDeployment(dep, [], now)).toMatchObject({ create: 2, remove: [] });
    const d = decideDeployment(dep, [mk('p1', hash, true), mk('p2', 'old', true)], now);
    expect(d.create).toBe(1);
    expect(d.remove.map((p) => p.metadata?.name)).toEqual(['p2']);
    expect(d.status).toMatchObject({
      observedGeneration: 2,
      readyReplicas: 1,
      availableReplicas: 1,
      conditions: [{ type: 'Available', status: 'False' }],
    });
  });
});

describe('service decisions', () => {
  const svc: V1Service = {
    metadata: { name: 's', namespace: 'app' },
    spec: { selector: { app: 'r' }, ports: [{ name: 'mover', port: 2222, targetPort: 'mover' }] },
  };
  it('lists ready and unready pods and picks only ready ones', () => {
    const a = pod('a', 'Running', 'J', { labels: { app: 'r' } }, true);
    const bb = pod('bb', 'Running', 'J', { labels: { app: 'r' } }, false);
    const other = pod('ccc', 'Running', 'J', { labels: { app: 'x' } }, true);
    const ep = endpointsFor(svc, [a, bb, other]);
    expect(ep.subsets).toEqual([
      {
        ports: [{ name: 'mover', port: 2222, protocol: 'TCP' }],
        addresses: [
          expect.objectContaining({
            ip: '127.10.0.1',
            targetRef: expect.objectContaining({ name: 'a' }),
          }),
        ],
        notReadyAddresses: [expect.objectContaining({ ip: '127.10.0.2' })],
      },
    ]);
    expect(pickBackend(svc, 2222, [a, bb], 5)).toEqual({ host: '127.10.0.1', port: 2222 });
    expect(pickBackend(svc, 2222, [bb], 0)).toBeUndefined();
    expect(pickBackend(svc, 80, [a], 0)).toBeUndefined();
  });

  it('hands out distinct loopback addresses and takes them back', () => {
    const pool = addressPool(42);
    const a = pool.take();
    const b = pool.take();
    expect(a).toBe('127.42.0.2');
    expect(b).not.toBe(a);
    pool.release(a);
    expect(() => addressPool(0)).toThrow(/bad loopback block/);
  });
});
