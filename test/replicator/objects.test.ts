import type { V1PersistentVolumeClaim } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { componentSelector, pvcLabelValue } from '../../model/src/index.ts';
import { freshSyncId, objectName, syncIdAt } from '../../replicator/src/naming.ts';
import {
  cloneClaim,
  endpointService,
  receiverJob,
  restoreClaim,
  senderJob,
} from '../../replicator/src/objects.ts';

const pvc = (mode: 'Filesystem' | 'Block'): V1PersistentVolumeClaim => ({
  apiVersion: 'v1',
  kind: 'PersistentVolumeClaim',
  metadata: { name: 'data', namespace: 'prod', uid: 'u-1' },
  spec: {
    accessModes: ['ReadWriteOnce'],
    volumeMode: mode,
    storageClassName: 'fast',
    resources: { requests: { storage: '5Gi' } },
  },
  status: { phase: 'Bound', capacity: { storage: '8Gi' } },
});

describe('replicator objects', () => {
  it('names objects within 63 characters, stably', () => {
    const long = objectName('scribe-clone', 'x'.repeat(80), '20261126t070000z');
    expect(long.length).toBeLessThanOrEqual(63);
    expect(long).toBe(objectName('scribe-clone', 'x'.repeat(80), '20261126t070000z'));
    expect(syncIdAt(new Date('2026-11-26T07:00:00.123Z'))).toBe('20261126t070000z');
  });

  it('gives a receiver a sync id no earlier sync of the claim holds', () => {
    const at = new Date('2026-11-26T07:00:00.900Z');
    expect(freshSyncId(at, new Set())).toBe('20261126t070000z');
    // Its predecessor started in the same second, and one the second after.
    expect(freshSyncId(at, new Set(['20261126t070000z', '20261126t070001z']))).toBe(
      '20261126t070002z',
    );
  });

  it('names objects of a claim with dots as DNS labels, apart from the claim with dashes', () => {
    const dotted = objectName('scribe', 'db.main');
    const dashed = objectName('scribe', 'db-main');
    expect(dashed).toBe('scribe-db-main');
    expect(dotted).toMatch(/^scribe-db-main-[0-9a-f]{8}$/);
    const long = objectName('scribe-send', `db.${'x'.repeat(80)}`, '20261126t070000z');
    expect(long).toMatch(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/);
    expect(long.length).toBeLessThanOrEqual(63);
  });

  it('labels the objects of a claim whose name is longer than a label value may be', () => {
    const name = `data-${'warehouse-'.repeat(8)}0`;
    const other = `data-${'warehouse-'.repeat(8)}1`;
    const label = (n: string) =>
      endpointService(
        { ...pvc('Filesystem'), metadata: { name: n, namespace: 'prod' } },
        'ClusterIP',
      ).metadata!.labels!['scribe.backube.io/pvc']!;
    expect(label(name).length).toBeLessThanOrEqual(63);
    expect(label(name)).toMatch(/^data-warehouse-.*-[0-9a-f]{8}$/);
    expect(label(name)).not.toBe(label(other));
    expect(label(name)).toBe(pvcLabelValue(name));
    // Names that fit keep the label they always had.
    expect(pvcLabelValue('data')).toBe('data');
    expect(componentSelector(name, 'history')).toBe(
      `scribe.backube.io/pvc=${label(name)},app.kubernetes.io/component=history`,
    );
  });

  it('clones and restores at the source capacity, owned by the source PVC', () => {
    const c = cloneClaim(pvc('Filesystem'), 's1');
    expect(c.spec).toMatchObject({
      dataSource: { kind: 'PersistentVolumeClaim', name: 'data' },
      resources: { requests: { storage: '8Gi' } },
      volumeMode: 'Filesystem',
    });
    expect(c.metadata?.ownerReferences?.[0]).toMatchObject({ uid: 'u-1', controller: true });
    const r = restoreClaim(pvc('Block'), 'snap-1', 's1');
    expect(r.metadata?.name).toBe('scribe-restore-data-s1');
    expect(r.spec?.dataSource).toEqual({
      apiGroup: 'snapshot.storage.k8s.io',
      kind: 'VolumeSnapshot',
      name: 'snap-1',
    });
  });

  it('runs the sender read-only with only DAC_OVERRIDE (what the baseline Pod Security Standard allows), and a checksum pass when asked', () => {
    const job = senderJob(pvc('Filesystem'), 'scribe-clone-data-s1', '10.0.0.7:2222', 's1', {
      secret: 'keys',
      checksum: true,
    });
    const pod = job.spec!.template.spec!;
    const c = pod.containers[0]!;
    expect(c.args).toEqual([
      'send',
      '--volume',
      '/data',
      '--to',
      '10.0.0.7:2222',
      '--key',
      '/keys/client_ed25519',
      '--known-host-key',
      '/keys/host_ed25519.pub',
      '--json',
      '--checksum',
    ]);
    expect(c.securityContext).toMatchObject({
      allowPrivilegeEscalation: false,
      privileged: false,
      capabilities: { drop: ['ALL'], add: ['DAC_OVERRIDE'] },
    });
    expect(c.volumeMounts).toContainEqual({ name: 'volume', mountPath: '/data', readOnly: true });
    expect(pod.volumes?.[0]).toEqual({
      name: 'volume',
      persistentVolumeClaim: { claimName: 'scribe-clone-data-s1', readOnly: true },
    });
    expect(pod.restartPolicy).toBe('Never');
    expect(job.spec?.backoffLimit).toBe(0);
  });

  it('receives Block volumes as a device, exits after one complete sync, behind a Service', () => {
    const job = receiverJob(pvc('Block'), 's1', { secret: 'keys' });
    const c = job.spec!.template.spec!.containers[0]!;
    expect(c.volumeDevices).toEqual([{ name: 'volume', devicePath: '/dev/scribe-volume' }]);
    expect(c.volumeMounts?.map((m) => m.name)).toEqual(['keys', 'tmp']);
    expect(c.args).toContain('--once');
    expect(c.args?.slice(0, 3)).toEqual(['receive', '--volume', '/dev/scribe-volume']);
    const svc = endpointService(pvc('Block'), 'LoadBalancer');
    expect(svc.spec?.selector).toEqual({
      'app.kubernetes.io/managed-by': 'scribe',
      'app.kubernetes.io/component': 'receiver',
      'scribe.backube.io/pvc': 'data',
    });
    // The Service finds the receiver pod by exactly these labels.
    for (const [k, v] of Object.entries(svc.spec!.selector!)) {
      expect(job.spec!.template.metadata!.labels![k]).toBe(v);
    }
  });
});
