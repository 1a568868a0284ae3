// The replicator's RBAC, derived from what its code does: the real
// reconcilers run against a recording API through clone and snapshot syncs, a
// copy that never binds, a destination's receivers, snapshots and pruning, and
// the clean-up of a disabled destination and a deleted source; every request
// must be granted, and every grant must have been used.
import type { V1ClusterRole, V1Job, V1PolicyRule, V1Role } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { parseSpec } from '../../model/src/index.ts';
import { reconcileAll, runReplicator } from '../../replicator/src/run.ts';
import { buildAll, find } from './support/kustomize.ts';
import { passOptions, recordingKube, type Request } from './support/recording-kube.ts';
import { quiesceRole } from '../../plugin/src/plan/quiesce-rbac.ts';

const NS = 'scribe-system';

function claim(name: string, annotations: Record<string, string>) {
  return {
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    metadata: { name, namespace: 'app', uid: `uid-${name}`, annotations },
    spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } },
    status: { phase: 'Bound' },
  };
}
const source = (method: string) => ({
  'scribe.backube.io/replication': 'source',
  'scribe.backube.io/method': method,
  'scribe.backube.io/destination': 'dst/app/backup',
  'scribe.backube.io/endpoint': 'scribe-backup.app:2222',
  'scribe.backube.io/secret': 'scribe-keys',
  'scribe.backube.io/volume-mode': 'Filesystem',
  'scribe.backube.io/schedule': 'manual',
  'scribe.backube.io/sync-requested': '2026-01-01T00:00:00Z',
});

async function exercise(): Promise<Request[]> {
  const api = recordingKube();
  const claims = [
    claim('data', {
      ...source('clone'),
      'scribe.backube.io/quiesce-command': '["sync"]',
      'scribe.backube.io/unquiesce-command': '["true"]',
    }),
    claim('snap', source('snapshot')),
    claim('stuck', source('clone')),
    claim('backup', {
      'scribe.backube.io/replication': 'destination',
      'scribe.backube.io/source': 'src/app/data',
      'scribe.backube.io/secret': 'scribe-keys',
      'scribe.backube.io/snapshots-to-keep': '1',
      'scribe.backube.io/read-only-copy': 'backup-ro',
      'scribe.backube.io/scrub-image': 'scrub:1',
      'scribe.backube.io/scrub-command': '["/scrub"]',
    }),
  ];
  for (const c of claims) {
    expect(parseSpec(c.metadata.annotations).spec, c.metadata.name).toBeDefined();
    api.put(c);
  }
  // The application that mounts 'data': its quiesce hook runs there.
  api.put({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'db-0', namespace: 'app' },
    spec: {
      containers: [{ name: 'db', volumeMounts: [{ name: 'd', mountPath: '/data' }] }],
      volumes: [{ name: 'd', persistentVolumeClaim: { claimName: 'data' } }],
    },
    status: { phase: 'Running', containerStatuses: [{ name: 'db', state: { running: {} } }] },
  } as never);
  let clock = new Date('2026-01-01T00:00:10Z');
  const o = passOptions(api.kube, { namespace: NS, identity: 'replicator-0', now: () => clock });
  // One pass of the loop: the Lease (created, then renewed), then every claim.
  const pass = async () => {
    const ac = new AbortController();
    const running = runReplicator(o, ac.signal);
    ac.abort();
    await running;
  };
  const all = <T>(kind: string) =>
    [...api.objects.values()].filter((x) => x.kind === kind) as unknown as T[];
  const update = (kind: string, test: (name: string) => boolean, patch: (x: never) => void) => {
    for (const x of all<{ metadata: { name: string } }>(kind))
      if (test(x.metadata.name)) patch(x as never);
  };
  const jobDone = (j: V1Job) => {
    j.status = { succeeded: 1 };
    api.put({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        name: `${j.metadata!.name}-x`,
        namespace: 'app',
        // As the Job controller labels its pods: the template's labels and job-name.
        labels: { ...j.spec!.template.metadata!.labels, 'job-name': j.metadata!.name! },
      },
    });
  };

  await pass(); // copies made (clone claims, a snapshot), the destination's Service and receiver
  update(
    'PersistentVolumeClaim',
    (n) => n.startsWith('scribe-clone-data'),
    (c: { status: object }) => {
      c.status = { phase: 'Bound' };
    },
  );
  update(
    'VolumeSnapshot',
    () => true,
    (s: { status: object }) => {
      s.status = { readyToUse: true, creationTime: '2026-01-01T00:00:20Z' };
    },
  );
  update('Job', () => true, jobDone);
  clock = new Date('2026-01-01T00:00:30Z');
  await pass(); // sender Jobs, a restore claim; a transfer received: snapshot taken, next receiver
  update('Job', (n) => n.startsWith('scribe-send-data') || n.startsWith('scribe-receive'), jobDone);
  update(
    'VolumeSnapshot',
    (n) => n.startsWith('scribe-backup'),
    (s: { status: object }) => {
      s.status = { readyToUse: true, creationTime: '2026-01-01T00:00:40Z' };
    },
  );
  update(
    'PersistentVolumeClaim',
    (n) => n.startsWith('scribe-restore-snap'),
    (c: { status: object }) => {
      c.status = { phase: 'Bound' };
    },
  );
  clock = new Date('2026-01-01T00:02:00Z');
  await pass(); // a sync recorded and its copy removed; the copy that never bound fails; pruning
  update('Job', (n) => n.startsWith('scribe-send-snap') || n.startsWith('scribe-receive'), jobDone);
  update(
    'VolumeSnapshot',
    (n) => n.startsWith('scribe-backup'),
    (s: { status: object }) => {
      s.status = { readyToUse: true, creationTime: '2026-01-01T00:02:10Z' };
    },
  );
  clock = new Date('2026-01-01T00:03:00Z');
  await reconcileAll(o);
  // What the passes did, so that the requests below are the ones a cluster sees.
  const annotations = (n: string) =>
    all<{ metadata: { name: string; annotations: Record<string, string> } }>(
      'PersistentVolumeClaim',
    ).find((c) => c.metadata.name === n)!.metadata.annotations;
  expect(annotations('data')['status.scribe.backube.io/last-sync-result']).toBe('Succeeded');
  expect(annotations('snap')['status.scribe.backube.io/last-sync-result']).toBe('Succeeded');
  expect(annotations('stuck')['status.scribe.backube.io/last-sync-error']).toMatch(
    /was not bound within 60s/,
  );
  expect(annotations('backup')['status.scribe.backube.io/latest-snapshot']).toMatch(
    /^scribe-backup-/,
  );
  // The read-only copy: its scrub Job succeeds, the result is snapshotted, then restored.
  update('Job', (n) => n.startsWith('scribe-scrub-backup'), jobDone);
  await reconcileAll(o);
  update(
    'VolumeSnapshot',
    (n) => n.startsWith('scribe-scrubbed-backup'),
    (s: { status: object }) => {
      s.status = { readyToUse: true, creationTime: '2026-01-01T00:03:10Z' };
    },
  );
  await reconcileAll(o);
  expect(annotations('backup')['status.scribe.backube.io/scrub-result']).toBe('Succeeded');
  expect(annotations('backup')['status.scribe.backube.io/read-only-copy-snapshot']).toMatch(
    /^scribe-backup-/,
  );
  expect(all<object>('PersistentVolumeClaim')).toContainEqual(
    expect.objectContaining({ metadata: expect.objectContaining({ name: 'backup-ro' }) }),
  );
  const finalizers = (n: string) =>
    all<{ metadata: { name: string; finalizers?: string[] } }>('PersistentVolumeClaim').find(
      (c) => c.metadata.name === n,
    )?.metadata.finalizers;
  for (const n of ['data', 'snap', 'stuck', 'backup'])
    expect(finalizers(n), n).toEqual(['scribe.backube.io/cleanup']);

  // Disabled (the plugin removes the annotations) and deleted (the API server
  // marks it; pvc-protection holds it): both are cleaned up, the claims stay.
  update(
    'PersistentVolumeClaim',
    (n) => n === 'backup',
    (c: { metadata: { annotations: object } }) => {
      c.metadata.annotations = {};
    },
  );
  update(
    'PersistentVolumeClaim',
    (n) => n === 'stuck',
    (c: { metadata: { deletionTimestamp: string; finalizers: string[] } }) => {
      c.metadata.deletionTimestamp = '2026-01-01T00:03:30Z';
      c.metadata.finalizers.unshift('kubernetes.io/pvc-protection');
    },
  );
  await reconcileAll(o);
  expect(finalizers('backup')).toEqual([]);
  expect(finalizers('stuck')).toEqual(['kubernetes.io/pvc-protection']);
  const left = (pvc: string) =>
    [...api.objects.values()]
      // Pods go with their Job (the garbage collector's work; none runs here).
      .filter((x) => x.kind !== 'Pod' && x.metadata?.labels?.['scribe.backube.io/pvc'] === pvc)
      .map((x) => `${x.kind}/${x.metadata?.labels?.['app.kubernetes.io/component']}`);
  // The destination's history is the user's data: kept.
  expect(left('backup').length).toBeGreaterThan(0);
  expect(new Set(left('backup'))).toEqual(new Set(['VolumeSnapshot/history']));
  expect(left('stuck')).toEqual([]);
  // The hook ran around the copy: quiesce before it, unquiesce once it was cut.
  expect(api.execs.map((e) => `${e.pod} ${e.command.join(' ')}`)).toEqual([
    'db-0 sync',
    'db-0 true',
  ]);
  expect(annotations('data')['status.scribe.backube.io/last-sync-consistency']).toBe(
    'ApplicationConsistent',
  );
  return api.requests;
}

const covers = (rule: V1PolicyRule, r: Request) =>
  rule.verbs.includes(r.verb) &&
  (rule.apiGroups ?? []).includes(r.group) &&
  (rule.resources ?? []).includes(r.resource) &&
  (!rule.resourceNames || (r.name !== undefined && rule.resourceNames.includes(r.name)));

describe("the replicator's RBAC, from its code", () => {
  it('grants every request the reconcilers make, and nothing they do not', async () => {
    const base = buildAll().get('base')!;
    const cluster = find<V1ClusterRole>(base, 'ClusterRole', 'scribe-replicator').rules!;
    const lease = find<V1Role>(base, 'Role', 'scribe-replicator').rules!;
    // pods/exec is granted per namespace, by enable --quiesce-command.
    const hooks = quiesceRole('app').rules!;
    const requests = await exercise();
    const inScribe = (r: Request) => r.namespace === NS;
    // Only the Lease lives in Scribe's namespace; everything else in the claims'.
    expect(new Set(requests.filter(inScribe).map((r) => r.resource))).toEqual(new Set(['leases']));
    const rulesFor = (r: Request) =>
      inScribe(r) ? lease : r.resource === 'pods/exec' ? hooks : cluster;
    const denied = requests.filter((r) => !rulesFor(r).some((rule) => covers(rule, r)));
    expect(denied).toEqual([]);
    const used = new Set(requests.map((r) => `${r.verb} ${r.resource}`));
    const unused = [...cluster, ...lease, ...hooks].flatMap((rule) =>
      rule.verbs
        .flatMap((v) => (rule.resources ?? []).map((res) => `${v} ${res}`))
        .filter((g) => !used.has(g)),
    );
    expect(unused).toEqual([]);
  });
});
