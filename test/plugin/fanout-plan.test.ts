// `enable pvc NAME --to ... --to ...`: which target each --to sets up, and the
// plan for a further destination of a source that already replicates.
import type { V1PersistentVolumeClaim, V1StorageClass } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import {
  findTarget,
  parseSpec,
  renderSpec,
  sourceTargets,
  specAnnotationsPatch,
  withTarget,
  type SourceSpec,
} from '../../model/src/index.ts';
import {
  planEnable,
  scribeWebhookDomain,
  type EnableInputs,
} from '../../plugin/src/plan/enable.ts';
import { replicationNames } from '../../plugin/src/plan/objects.ts';
import { planTargets, targetNameFromContext } from '../../plugin/src/plan/targets.ts';
import { chooseTargets } from '../../plugin/src/actions/sync.ts';

const first: SourceSpec = {
  role: 'source',
  method: 'snapshot',
  destination: { context: 'dr', namespace: 'apps', name: 'data' },
  endpoint: '10.0.0.7:2222',
  secret: 'scribe-source-data',
  destinationVolumeMode: 'Filesystem',
  trigger: { kind: 'schedule', cron: '*/15 * * * *' },
  paused: false,
  liveRequiresRwo: false,
  checksumEvery: 10,
};
const here = { namespace: 'apps', name: 'data' };

describe('which target each --to is', () => {
  it('makes the first destination of a fresh PVC the default, later ones named after their context', () => {
    const r = planTargets(undefined, ['dr', 'lake/bi/data-ro'], ['@hourly', 'manual'], here);
    expect(r).toEqual({
      ok: true,
      targets: [
        {
          name: 'default',
          ref: { context: 'dr', namespace: 'apps', name: 'data' },
          schedule: '@hourly',
          existing: false,
        },
        {
          name: 'lake',
          ref: { context: 'lake', namespace: 'bi', name: 'data-ro' },
          schedule: 'manual',
          existing: false,
        },
      ],
    });
  });

  it('keeps the target of a destination the PVC already has, so running enable twice changes nothing', () => {
    const r = planTargets(first, ['dr', 'bi=lake/bi'], ['0 * * * *'], here);
    expect(r.ok && r.targets.map((t) => [t.name, t.existing, t.schedule])).toEqual([
      ['default', true, '0 * * * *'],
      ['bi', false, '0 * * * *'],
    ]);
  });

  it('says what to do when names or counts do not fit', () => {
    const msg = (r: ReturnType<typeof planTargets>) => (r.ok ? '' : r.message);
    expect(msg(planTargets(first, ['a', 'b', 'c'], ['manual', '@hourly'], here))).toBe(
      '2 --schedule flags for 3 --to flags: give one --schedule for all destinations, or one per --to in the same order',
    );
    expect(msg(planTargets(undefined, ['lake=lake/bi'], ['manual'], here))).toBe(
      'the first destination of a PVC is its default target: drop "lake=" from --to "lake=lake/bi" (later destinations may be named)',
    );
    const two = withTarget(first, {
      ...sourceTargets(first)[0]!,
      name: 'dr',
      destination: { context: 'dr', namespace: 'other', name: 'data' },
      secret: 'scribe-source-data-dr',
    });
    expect(msg(planTargets(two, ['dr/third'], ['manual'], here))).toBe(
      'target "dr" of this PVC already replicates to dr/other/data: name the new destination, e.g. --to dr-2=dr/third/data',
    );
    expect(msg(planTargets(two, ['x=dr/other'], ['manual'], here))).toBe(
      'dr/other/data is already target "dr" of this PVC: use --to dr=dr/other, or disable that target first',
    );
    expect(msg(planTargets(first, ['Lake=lake'], ['manual'], here))).toMatch(
      /^invalid --to "Lake=lake": "Lake" is not a target name: use a DNS-1123 label/,
    );
    expect(msg(planTargets(first, ['lake/bi', 'lake/bi/data'], ['manual'], here))).toBe(
      '--to lake/bi/data is given twice: each destination once',
    );
    expect(msg(planTargets(first, ['lake/BI'], ['manual'], here))).toMatch(
      /^invalid --to "lake\/BI"/,
    );
  });

  it('derives a valid target name from any context name', () => {
    expect(targetNameFromContext('arn:aws:eks:eu-west-1:1234:cluster/Lake')).toBe(
      'arn-aws-eks-eu-west-1-1234-cluster-lake',
    );
    expect(targetNameFromContext('default')).toBe('target');
    expect(targetNameFromContext('x'.repeat(80)).length).toBe(41);
  });
});

const csi: V1StorageClass = { metadata: { name: 'fast' }, provisioner: 'csi.example.com' };
const source = (ann?: Record<string, string>): V1PersistentVolumeClaim => ({
  metadata: { name: 'data', namespace: 'apps', annotations: ann },
  spec: {
    accessModes: ['ReadWriteOnce'],
    volumeMode: 'Filesystem',
    storageClassName: 'fast',
    resources: { requests: { storage: '10Gi' } },
  },
});
const inputs = (ann: Record<string, string> | undefined, opt: Partial<EnableInputs['options']>) =>
  ({
    source: {
      context: 'prod',
      pvc: source(ann),
      storageClass: csi,
      snapshotClasses: [{ metadata: { name: 'snap' }, driver: 'csi.example.com' }],
      webhookNames: [`pvc.${scribeWebhookDomain}`],
      secret: undefined,
    },
    destination: {
      ref: { context: 'lake', namespace: 'bi', name: 'data-ro' },
      sameCluster: false,
      pvc: undefined,
      secret: undefined,
      deployment: undefined,
      service: undefined,
      storageClass: undefined,
      webhookNames: [`pvc.${scribeWebhookDomain}`],
    },
    options: { method: 'auto', schedule: '0 3 * * *', image: 'img', ...opt },
  }) satisfies EnableInputs;

describe('planning a further destination', () => {
  it('adds the target beside the default, with its own keys and schedule, and keeps the method', () => {
    const p = planEnable(inputs(renderSpec(first), { target: 'lake' }));
    expect(p.errors).toEqual([]);
    expect(p.target).toBe('lake');
    expect(p.method).toBe('snapshot'); // auto would pick clone on this class; the PVC keeps its one method
    expect(p.methodReason).toBe('kept: the method is one per PVC, and its other target uses it');
    expect(p.names).toEqual(replicationNames('data', 'data-ro', 'lake'));
    // Never the default Secret of another PVC, e.g. one named "data-lake".
    expect(replicationNames('data-lake', 'x').sourceSecret).toBe('scribe-source-data-lake');
    expect(replicationNames('lake.data', 'x').sourceSecret).toBe('scribe-source-lake.data');
    expect(p.names.sourceSecret).toBe('scribe-target-lake.data');
    expect(p.create).toMatchObject({ sourceSecret: true, destinationSecret: true });
    expect(p.destinationSpec.sourceTarget).toBe('lake');
    expect(planEnable(inputs(undefined, {})).destinationSpec.sourceTarget).toBeUndefined();
    // The default target is untouched; the new one has the keys suffixed .lake.
    const patch = specAnnotationsPatch(renderSpec(first), {
      ...p.sourceSpec,
      ...withTarget(p.sourceSpec, {
        ...findTarget(p.sourceSpec, 'lake')!,
        endpoint: '10.9.0.1:2222',
      }),
    });
    expect(patch).toEqual({
      'scribe.backube.io/destination.lake': 'lake/bi/data-ro',
      'scribe.backube.io/secret.lake': 'scribe-target-lake.data',
      'scribe.backube.io/volume-mode.lake': 'Filesystem',
      'scribe.backube.io/schedule.lake': '0 3 * * *',
      'scribe.backube.io/paused.lake': 'false',
      'scribe.backube.io/checksum-every.lake': '10',
      'scribe.backube.io/endpoint.lake': '10.9.0.1:2222',
    });
    expect(
      parseSpec({ ...renderSpec(first), ...(patch as Record<string, string>) }).problems,
    ).toEqual([]);
  });

  it('refuses a live copy to several destinations, and a target name that points elsewhere', () => {
    const live = planEnable(inputs(renderSpec(first), { target: 'lake', method: 'live' }));
    expect(live.errors).toContain(
      'method "live" replicates to one destination, but persistentvolumeclaim "data" (context "prod", namespace "apps") has 2 targets with this one: use --method snapshot or --method clone',
    );
    const lake = withTarget(first, {
      ...sourceTargets(first)[0]!,
      name: 'lake',
      destination: { context: 'lake', namespace: 'bi', name: 'elsewhere' },
      secret: 'scribe-source-data-lake',
    });
    expect(planEnable(inputs(renderSpec(lake), { target: 'lake' })).errors).toEqual([
      'target "lake" of persistentvolumeclaim "data" (context "prod", namespace "apps") already replicates to lake/bi/elsewhere: run kubectl scribe disable pvc data --target lake first, or choose another target name',
    ]);
    const changed = planEnable(inputs(renderSpec(first), { target: 'lake', method: 'clone' }));
    expect(changed.warnings).toContain(
      '--method clone applies to the whole PVC: its other targets (default) change from snapshot too',
    );
  });
});

describe('--target of sync and disable', () => {
  it('picks one target, all without the flag, and lists the targets for an unknown one', () => {
    const two = withTarget(first, {
      ...sourceTargets(first)[0]!,
      name: 'lake',
      destination: { context: 'lake', namespace: 'bi', name: 'data' },
      secret: 'scribe-source-data-lake',
    });
    expect(chooseTargets(two, 'data', undefined).map((t) => t.name)).toEqual(['default', 'lake']);
    expect(chooseTargets(two, 'data', 'lake').map((t) => t.name)).toEqual(['lake']);
    expect(() => chooseTargets(two, 'data', 'lab')).toThrow(
      'persistentvolumeclaim "data" has no target "lab": its targets are default (dr/apps/data), lake (lake/bi/data)',
    );
  });
});
