// The decisions of `enable pvc`, without any cluster: inputs as the API
// server returns them, the plan out.
import type { V1PersistentVolumeClaim, V1StorageClass } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { parseSpec, renderSpec, specKeys } from '../../model/src/index.ts';
import { capabilitiesOf } from '../../plugin/src/plan/capabilities.ts';
import {
  commandFlag,
  parseTo,
  planEnable,
  planQuiesce,
  scribeWebhookDomain,
  type EnableInputs,
} from '../../plugin/src/plan/enable.ts';
import { endpointAddress, inversePatch } from '../../plugin/src/plan/execute-enable.ts';
import { replicationNames } from '../../plugin/src/plan/objects.ts';
import { parseQuantity } from '../../plugin/src/plan/quantity.ts';

const csiClass: V1StorageClass = {
  metadata: { name: 'fast' },
  provisioner: 'csi.example.com',
};
const inTree: V1StorageClass = {
  metadata: { name: 'old' },
  provisioner: 'kubernetes.io/aws-ebs',
};
const ebs: V1StorageClass = { metadata: { name: 'gp3' }, provisioner: 'ebs.csi.aws.com' };
const snapClass = (driver: string) => ({ metadata: { name: `snap-${driver}` }, driver });

function pvc(
  name: string,
  o: { ns?: string; mode?: string; size?: string; sc?: string; ann?: Record<string, string> } = {},
): V1PersistentVolumeClaim {
  return {
    metadata: { name, namespace: o.ns ?? 'apps', annotations: o.ann },
    spec: {
      accessModes: ['ReadWriteOnce'],
      volumeMode: o.mode ?? 'Filesystem',
      storageClassName: o.sc ?? 'fast',
      resources: { requests: { storage: o.size ?? '10Gi' } },
    },
  };
}

function inputs(over: {
  src?: Partial<EnableInputs['source']>;
  dst?: Partial<EnableInputs['destination']>;
  opt?: Partial<EnableInputs['options']>;
}): EnableInputs {
  return {
    source: {
      context: 'prod',
      pvc: pvc('data'),
      storageClass: csiClass,
      snapshotClasses: [snapClass('csi.example.com')],
      webhookNames: [`pvc.${scribeWebhookDomain}`],
      secret: undefined,
      ...over.src,
    },
    destination: {
      ref: { context: 'dr', namespace: 'apps', name: 'data' },
      sameCluster: false,
      pvc: undefined,
      secret: undefined,
      deployment: undefined,
      service: undefined,
      storageClass: undefined,
      ...over.dst,
    },
    options: {
      method: 'auto',
      schedule: '*/15 * * * *',
      image: 'ghcr.io/backube/scribe:v0.1.0',
      ...over.opt,
    },
  };
}

describe('--method auto', () => {
  it('picks clone on a CSI class, and says why', () => {
    const p = planEnable(inputs({}));
    expect(p.errors).toEqual([]);
    expect(p.method).toBe('clone');
    expect(p.methodReason).toMatch(
      /^auto: the StorageClass supports volume cloning.*csi\.example\.com is a CSI driver that can clone/,
    );
  });

  it('picks snapshot when the driver cannot clone but has a snapshot class', () => {
    const p = planEnable(
      inputs({ src: { storageClass: ebs, snapshotClasses: [snapClass('ebs.csi.aws.com')] } }),
    );
    expect(p.method).toBe('snapshot');
    expect(p.methodReason).toMatch(/VolumeSnapshotClass snap-ebs\.csi\.aws\.com serves it/);
  });

  it('storage it may not read counts as offering nothing, with a warning', () => {
    const p = planEnable(inputs({ src: { storageClass: undefined, snapshotClasses: undefined } }));
    expect(p.method).toBe('live');
    expect(p.warnings).toContain(
      'cannot list VolumeSnapshotClasses in context "prod": taking the storage to have no snapshot support',
    );
    expect(p.warnings).toContain(
      'cannot read StorageClass "fast" in context "prod": taking the storage to support neither clones nor snapshots',
    );
  });

  it('falls back to live, with its warning, when the storage offers neither', () => {
    const p = planEnable(inputs({ src: { storageClass: inTree, snapshotClasses: [] } }));
    expect(p.method).toBe('live');
    expect(p.warnings.join()).toMatch(/not crash-consistent/);
  });
});

describe('checks', () => {
  it('an explicit method the class cannot do names the fallbacks', () => {
    const p = planEnable(
      inputs({ src: { storageClass: ebs, snapshotClasses: [] }, opt: { method: 'clone' } }),
    );
    expect(p.errors).toEqual([
      'method "clone" is not supported by StorageClass "gp3" (ebs.csi.aws.com cannot clone; no VolumeSnapshotClass serves it); use --method live, or --method auto',
    ]);
  });

  it("a vendor's method is accepted with a warning", () => {
    const p = planEnable(inputs({ opt: { method: 'acme-mirror' } }));
    expect(p.errors).toEqual([]);
    expect(p.method).toBe('acme-mirror');
    expect(p.warnings.join()).toMatch(/storage vendor's operator must/);
  });

  it('a volume mode mismatch names both modes', () => {
    const p = planEnable(inputs({ dst: { pvc: pvc('data', { mode: 'Block' }) } }));
    expect(p.errors).toEqual([
      'persistentvolumeclaim "data" (context "dr", namespace "apps"): the source volume mode is Filesystem but the destination\'s is Block: ' +
        'Scribe replicates only between PVCs of the same volume mode (access modes, StorageClasses and drivers may differ)',
    ]);
  });

  it('a destination that is too small is refused with both sizes', () => {
    const p = planEnable(inputs({ dst: { pvc: pvc('data', { size: '5Gi' }) } }));
    expect(p.errors[0]).toMatch(/is too small: 5Gi for a source of 10Gi; expand it/);
  });

  it('access modes, class and driver may differ on an existing destination', () => {
    const d = pvc('data', { sc: 'other', size: '20Gi' });
    d.spec!.accessModes = ['ReadWriteMany'];
    const p = planEnable(inputs({ dst: { pvc: d } }));
    expect(p.errors).toEqual([]);
    expect(p.create.destinationPvc).toBeUndefined();
  });

  it('a missing webhook stops enable unless told otherwise', () => {
    const p = planEnable(inputs({ src: { webhookNames: ['other.example.io'] } }));
    expect(p.errors[0]).toMatch(/^Scribe's webhook is not installed in context "prod"/);
    expect(
      planEnable(inputs({ src: { webhookNames: [] }, opt: { skipWebhookCheck: true } })).errors,
    ).toEqual([]);
    expect(planEnable(inputs({ src: { webhookNames: undefined } })).warnings.join()).toMatch(
      /cannot list admission webhooks/,
    );
    expect(planEnable(inputs({ dst: { webhookNames: [] } })).warnings).toContain(
      'Scribe is not installed in context "dr": data will arrive, but no destination snapshots will be taken until it is',
    );
  });

  it('a PVC already replicating elsewhere, a destination taken by another source, and self-replication', () => {
    const srcAnn = renderSpec({
      role: 'source',
      method: 'clone',
      destination: { context: 'dr2', namespace: 'apps', name: 'data' },
      secret: 's',
      destinationVolumeMode: 'Filesystem',
      trigger: { kind: 'manual' },
      paused: false,
      liveRequiresRwo: false,
      checksumEvery: 10,
    });
    expect(planEnable(inputs({ src: { pvc: pvc('data', { ann: srcAnn }) } })).errors[0]).toMatch(
      /already replicates to dr2\/apps\/data: add dr\/apps\/data as a further destination with --to NAME=dr\/apps\/data, or run kubectl scribe disable pvc data first/,
    );
    const dstAnn = renderSpec({
      role: 'destination',
      source: { context: 'other', namespace: 'x', name: 'y' },
      secret: 's',
      snapshotsToKeep: 3,
      serviceType: 'LoadBalancer',
    });
    expect(planEnable(inputs({ dst: { pvc: pvc('data', { ann: dstAnn }) } })).errors[0]).toMatch(
      /already receives from other\/x\/y/,
    );
    expect(
      planEnable(
        inputs({
          dst: { sameCluster: true, ref: { context: 'prod', namespace: 'apps', name: 'data' } },
        }),
      ).errors[0],
    ).toMatch(/^the destination is the source itself/);
  });

  it('half-configured keys are reported, not papered over', () => {
    const p = planEnable(inputs({ src: { secret: { metadata: { name: 'scribe-source-data' } } } }));
    expect(p.errors[0]).toMatch(
      /a replication was half set up; run kubectl scribe disable pvc data and enable again/,
    );
  });

  it('a bad schedule and a bad capacity are explained', () => {
    const p = planEnable(inputs({ opt: { schedule: 'every hour', destCapacity: 'lots' } }));
    expect(p.errors.join('\n')).toMatch(/invalid --schedule: "every hour" is not a schedule/);
    expect(p.errors.join('\n')).toMatch(/invalid --dest-capacity "lots"/);
  });
});

describe('what is created', () => {
  it('a new destination PVC copies mode, access modes and size; the class is the destination default across clusters', () => {
    const p = planEnable(
      inputs({
        src: {
          pvc: { ...pvc('data', { mode: 'Block' }), status: { capacity: { storage: '12Gi' } } },
        },
      }),
    );
    expect(p.create.destinationPvc?.spec).toEqual({
      accessModes: ['ReadWriteOnce'],
      volumeMode: 'Block',
      resources: { requests: { storage: '12Gi' } },
    });
    const dep = p.create.deployment!.spec!.template.spec!.containers[0]!;
    expect(dep.volumeDevices).toEqual([{ name: 'data', devicePath: '/data' }]);
    // The image has no default entrypoint: without a command the pod would run "receive".
    expect(dep.command).toEqual(['scribe-mover']);
    expect(dep.args).toEqual([
      'receive',
      '--volume',
      '/data',
      '--listen',
      '0.0.0.0:2222',
      '--host-key',
      '/keys/host_ed25519',
      '--authorized-key',
      '/keys/client_ed25519.pub',
    ]);
    expect(dep.image).toBe('ghcr.io/backube/scribe:v0.1.0');
    expect(p.serviceType).toBe('LoadBalancer');
  });

  it('where Scribe runs on the destination, its server runs the endpoint: the plugin creates none', () => {
    const p = planEnable(inputs({ dst: { webhookNames: [`pvc.${scribeWebhookDomain}`] } }));
    expect(p.endpointBy).toBe('scribe');
    expect(p.create.deployment).toBeUndefined();
    expect(p.create.service).toBeUndefined();
    expect(p.destinationSpec.serviceType).toBe('LoadBalancer');
    expect(planEnable(inputs({})).endpointBy).toBe('plugin');
    const first = planEnable(inputs({}));
    const leftover = planEnable(
      inputs({
        dst: { webhookNames: [`pvc.${scribeWebhookDomain}`], deployment: first.create.deployment },
      }),
    );
    expect(leftover.errors[0]).toMatch(
      /from an earlier enable still receive there: run kubectl scribe disable pvc data and enable again$/,
    );
  });

  it('within one cluster: ClusterIP and the source class', () => {
    const p = planEnable(
      inputs({
        dst: { sameCluster: true, ref: { context: 'prod', namespace: 'apps-dr', name: 'data' } },
      }),
    );
    expect(p.serviceType).toBe('ClusterIP');
    expect(p.create.destinationPvc?.spec?.storageClassName).toBe('fast');
  });

  it('the specs round-trip through the model', () => {
    const p = planEnable(inputs({}));
    const src = parseSpec(renderSpec({ ...p.sourceSpec, endpoint: '10.0.0.1:2222' }));
    expect(src.problems).toEqual([]);
    expect(src.spec).toMatchObject({
      role: 'source',
      method: 'clone',
      destination: p.destination,
      secret: p.names.sourceSecret,
    });
    const dst = parseSpec(renderSpec(p.destinationSpec));
    expect(dst.spec).toMatchObject({
      serviceType: 'LoadBalancer',
      role: 'destination',
      source: { context: 'prod', namespace: 'apps', name: 'data' },
    });
  });

  it('a second run with everything in place creates nothing and reuses the keys', () => {
    const first = planEnable(inputs({}));
    const srcAnn = renderSpec({ ...first.sourceSpec, endpoint: '10.0.0.1:2222' });
    const dstAnn = renderSpec(first.destinationSpec);
    const p = planEnable(
      inputs({
        src: {
          pvc: pvc('data', { ann: srcAnn }),
          secret: { metadata: { name: first.names.sourceSecret } },
        },
        dst: {
          pvc: pvc('data', { ann: dstAnn }),
          secret: { metadata: { name: first.names.destinationSecret } },
          deployment: first.create.deployment,
          service: first.create.service,
        },
      }),
    );
    expect(p.errors).toEqual([]);
    expect(p.keys).toBe('reuse');
    expect(p.create).toEqual({ destinationSecret: false, sourceSecret: false });
    expect(p.sourceSpec.endpoint).toBe('10.0.0.1:2222');
  });

  it("another claim's endpoint is not taken for this one's (db.main and db-main)", () => {
    const dotted = planEnable(
      inputs({ dst: { ref: { context: 'dr', namespace: 'apps', name: 'db.main' } } }),
    );
    const dashedRef = { context: 'dr', namespace: 'apps', name: 'db-main' };
    expect(planEnable(inputs({ dst: { ref: dashedRef } })).names.endpoint).toBe(
      dotted.names.endpoint,
    );
    for (const found of [
      { deployment: dotted.create.deployment, service: dotted.create.service },
      { service: dotted.create.service },
    ]) {
      const p = planEnable(inputs({ dst: { ref: dashedRef, ...found } }));
      expect(p.errors).toEqual([
        `deployment/service "scribe-dst-db-main" in context "dr" receives into persistentvolumeclaim "db.main", not "db-main": ` +
          `names that differ only in "." and "-" share an endpoint; choose another destination name (--to dr/apps/NAME)`,
      ]);
    }
    // Its own endpoint, found again, is no conflict.
    const again = planEnable(
      inputs({
        dst: {
          ref: { context: 'dr', namespace: 'apps', name: 'db.main' },
          deployment: dotted.create.deployment,
          service: dotted.create.service,
        },
      }),
    );
    expect(again.errors).toEqual([]);
  });
});

describe('small pure parts', () => {
  it('--to fills namespace and name from the source', () => {
    expect(parseTo('dr', { namespace: 'apps', name: 'data' })).toEqual({
      ok: true,
      ref: { context: 'dr', namespace: 'apps', name: 'data' },
    });
    expect(parseTo('dr/x', { namespace: 'apps', name: 'data' })).toEqual({
      ok: true,
      ref: { context: 'dr', namespace: 'x', name: 'data' },
    });
    expect(parseTo('dr/x/y', { namespace: 'apps', name: 'data' })).toEqual({
      ok: true,
      ref: { context: 'dr', namespace: 'x', name: 'y' },
    });
    expect(parseTo('dr//y', { namespace: 'a', name: 'b' }).ok).toBe(false);
    expect(parseTo('dr/Bad_NS', { namespace: 'a', name: 'b' })).toMatchObject({
      ok: false,
      message: /not a valid namespace name/,
    });
  });

  it('quantities', () => {
    expect(parseQuantity('10Gi')).toBe(10 * 2 ** 30);
    expect(parseQuantity('500M')).toBe(5e8);
    expect(parseQuantity('1.5Ti')).toBe(1.5 * 2 ** 40);
    expect(parseQuantity('1e9')).toBe(1e9);
    expect(parseQuantity('12')).toBe(12);
    expect(parseQuantity('10 Gi')).toBeUndefined();
  });

  it('capabilities', () => {
    expect(capabilitiesOf(undefined, [])).toMatchObject({ clone: false, snapshot: false });
    expect(
      capabilitiesOf({ metadata: {}, provisioner: 'rancher.io/local-path' }, []),
    ).toMatchObject({ clone: false });
  });

  it('names fit Kubernetes limits', () => {
    const long = 'a'.repeat(80) + '.b';
    const n = replicationNames(long, long);
    expect(n.endpoint.length).toBeLessThanOrEqual(63);
    expect(n.endpoint).toMatch(/^[a-z]([-a-z0-9]*[a-z0-9])?$/);
    const p = planEnable(
      inputs({
        src: { pvc: pvc(long) },
        dst: { ref: { context: 'dr', namespace: 'apps', name: long } },
      }),
    );
    for (const v of Object.values(p.create.deployment!.metadata!.labels!)) {
      expect(v.length).toBeLessThanOrEqual(63);
      expect(v).toMatch(/^[a-z0-9A-Z]([-a-zA-Z0-9_.]*[a-zA-Z0-9])?$/);
    }
    expect(replicationNames('data', 'data')).toEqual({
      sourceSecret: 'scribe-source-data',
      destinationSecret: 'scribe-destination-data',
      endpoint: 'scribe-dst-data',
    });
  });

  it('endpoint addresses from a Service', () => {
    expect(
      endpointAddress(
        { status: { loadBalancer: { ingress: [{ ip: '203.0.113.7' }] } } },
        'LoadBalancer',
      ),
    ).toBe('203.0.113.7:2222');
    expect(
      endpointAddress(
        { status: { loadBalancer: { ingress: [{ hostname: 'lb.example' }] } } },
        'LoadBalancer',
      ),
    ).toBe('lb.example:2222');
    expect(endpointAddress({ status: {} }, 'LoadBalancer')).toBeUndefined();
    expect(endpointAddress({ spec: { clusterIP: 'fd00::5' } }, 'ClusterIP')).toBe('[fd00::5]:2222');
    expect(endpointAddress({ spec: { clusterIP: 'None' } }, 'ClusterIP')).toBeUndefined();
    expect(
      endpointAddress({ spec: { ports: [{ port: 2222, nodePort: 31022 }] } }, 'NodePort', [
        { status: { addresses: [{ type: 'InternalIP', address: '10.1.1.1' }] } },
      ]),
    ).toBe('10.1.1.1:31022');
  });

  it('an annotation change is undone exactly', () => {
    const before = { a: '1', [specKeys.method]: 'clone' };
    expect(inversePatch(before, { a: '2', b: '3', [specKeys.method]: null })).toEqual({
      a: '1',
      b: null,
      [specKeys.method]: 'clone',
    });
  });
});

describe('quiesce flags', () => {
  it('writes the hook: JSON argv as is, other text through sh -c, the timeout and container', () => {
    const p = planEnable(
      inputs({
        opt: {
          quiesce: {
            command: 'psql -c CHECKPOINT',
            unquiesceCommand: '["true"]',
            container: 'postgres',
            timeout: '1m',
          },
        },
      }),
    );
    expect(p.errors).toEqual([]);
    expect(p.sourceSpec.quiesce).toEqual({
      command: ['sh', '-c', 'psql -c CHECKPOINT'],
      unquiesceCommand: ['true'],
      container: 'postgres',
      timeoutSeconds: 60,
    });
    expect(renderSpec({ ...p.sourceSpec, endpoint: '1.2.3.4:2222' })).toMatchObject({
      [specKeys.quiesceCommand]: '["sh","-c","psql -c CHECKPOINT"]',
      [specKeys.quiesceTimeout]: '1m',
    });
    expect(commandFlag('  ["a"]')).toBe('  ["a"]');
  });

  it('keeps the hook the PVC has when no flag is given; "" removes it', () => {
    const had = { command: ['sync'], timeoutSeconds: 30 };
    expect(planQuiesce(undefined, had, 'clone')).toEqual({ quiesce: had, errors: [] });
    expect(planQuiesce({ command: '' }, had, 'clone')).toEqual({ errors: [] });
    expect(planQuiesce({ timeout: '10s' }, had, 'clone').quiesce).toEqual({
      command: ['sync'],
      timeoutSeconds: 10,
    });
  });

  it("says which flag is wrong, in the model's words", () => {
    expect(planQuiesce({ timeout: '10s' }, undefined, 'clone').errors).toEqual([
      '--unquiesce-command, --quiesce-container and --quiesce-timeout need --quiesce-command',
    ]);
    expect(planQuiesce({ command: '["sync"', timeout: 'soon' }, undefined, 'clone').errors).toEqual(
      [
        'invalid --quiesce-command: "["sync"" is not a JSON array: use a JSON array of strings, e.g. ["fsfreeze","--freeze","/data"] or ["sh","-c","sync"]',
        'invalid --quiesce-timeout: "soon" is not a duration from 1s to 10m: use e.g. "30s", "10m" or "1h30m"',
      ],
    );
    const live = planEnable(inputs({ opt: { method: 'live', quiesce: { command: 'sync' } } }));
    expect(live.errors.join('\n')).toContain(
      'invalid --quiesce-command: method "live" makes no point-in-time copy to quiesce for',
    );
  });
});
