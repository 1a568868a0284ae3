// The stand-in's pure decisions, tested without a server.
import { describe, expect, it } from 'vitest';
import type { KubeObject } from './api/admission-seam.ts';
import {
  applySchemeDefaults,
  admitCreate,
  generateName,
  qosClass,
  randomSuffix,
} from './api/defaults.ts';
import { defaultPropagation, ownerVerdict, removableProtection, type Located } from './api/gc.ts';
import { parseResourcePath, warningHeader } from './api/http.ts';
import { pvcUpdateErrors, immutableFieldErrors } from './api/immutable.ts';
import {
  applyManagedFields,
  conflictMessage,
  describePath,
  fieldPaths,
  fromFieldsV1,
  toFieldsV1,
  updateManagedFields,
} from './api/managed-fields.ts';
import { applyPatch } from './api/patch.ts';
import { decodeMessage, decodeProtobufObject } from './api/protobuf.ts';
import { RESOURCES } from './api/resources.ts';
import {
  fieldValue,
  matchLabels,
  parseFieldSelector,
  parseLabelSelector,
} from './api/selectors.ts';
import { strategicMerge } from './api/strategic-merge.ts';
import { humanDuration, wantsTable } from './api/table.ts';
import { qualifiedNameError, validateObject } from './api/validation.ts';
import { ApiError } from './api/admission-seam.ts';

const rt = (resource: string) => RESOURCES.find((r) => r.resource === resource)!;
const obj = (o: object) => o as KubeObject;

describe('selectors', () => {
  it('parses every label operator and matches like apimachinery', () => {
    const sel = parseLabelSelector('a=1,b==2,c!=3,d in (x, y),e notin (z),f,!g');
    expect(sel.map((r) => r.op)).toEqual(['=', '=', '!=', 'in', 'notin', 'exists', '!exists']);
    const labels = { a: '1', b: '2', c: '4', d: 'y', e: 'w', f: '' };
    expect(matchLabels(sel, labels)).toBe(true);
    expect(matchLabels(sel, { ...labels, g: 'present' })).toBe(false);
    expect(matchLabels(parseLabelSelector('c!=3'), {})).toBe(true);
    expect(matchLabels(parseLabelSelector('e notin (z)'), {})).toBe(true);
    expect(matchLabels(parseLabelSelector('d in (x)'), {})).toBe(false);
    expect(matchLabels(parseLabelSelector(''), { any: 'thing' })).toBe(true);
  });

  it('rejects bad selectors with a 400 Status', () => {
    expect(() => parseLabelSelector('a b c')).toThrow(ApiError);
    expect(() => parseLabelSelector('bad key=1')).toThrow(ApiError);
    expect(() => parseFieldSelector('status.phase=Running', 'persistentvolumeclaims')).toThrow(
      'field label not supported: status.phase',
    );
  });

  it('reads field values, empty when unset', () => {
    const ev = obj({
      involvedObject: { name: 'p', kind: 'Pod' },
      source: { component: 'kubelet' },
    });
    expect(fieldValue(ev, 'involvedObject.name')).toBe('p');
    expect(fieldValue(ev, 'involvedObject.uid')).toBe('');
    expect(fieldValue(ev, 'source')).toBe('kubelet');
    expect(parseFieldSelector('metadata.name==x,spec.nodeName!=n', 'pods')).toEqual([
      { field: 'metadata.name', op: '=', value: 'x' },
      { field: 'spec.nodeName', op: '!=', value: 'n' },
    ]);
  });
});

describe('strategic merge patch', () => {
  const pod = {
    metadata: { labels: { a: '1', b: '2' }, finalizers: ['x'] },
    spec: {
      containers: [
        {
          name: 'app',
          image: 'a:1',
          env: [{ name: 'A', value: '1' }],
          ports: [{ containerPort: 80 }],
        },
        { name: 'side', image: 's:1' },
      ],
      volumes: [{ name: 'v', emptyDir: {} }],
      tolerations: [{ key: 't' }],
    },
  };

  it('merges maps, deletes with null, merges lists by key, unions finalizers, replaces atomic lists', () => {
    const out = strategicMerge(pod, {
      metadata: { labels: { b: null, c: '3' }, finalizers: ['y'] },
      spec: {
        containers: [
          { name: 'app', env: [{ name: 'B', value: '2' }], ports: [{ containerPort: 81 }] },
        ],
        tolerations: [{ key: 'u' }],
      },
    }) as typeof pod;
    expect(out.metadata.labels).toEqual({ a: '1', c: '3' });
    expect(out.metadata.finalizers).toEqual(['x', 'y']);
    expect(out.spec.containers.map((c) => c.name)).toEqual(['app', 'side']);
    expect(out.spec.containers[0]!.env!.map((e) => e.name)).toEqual(['A', 'B']);
    expect(out.spec.containers[0]!.ports!.map((p) => p.containerPort)).toEqual([80, 81]);
    expect(out.spec.tolerations).toEqual([{ key: 'u' }]);
    expect(pod.metadata.labels).toEqual({ a: '1', b: '2' }); // input untouched
  });

  it('honours $patch: delete/replace, $deleteFromPrimitiveList, $setElementOrder and $retainKeys', () => {
    const out = strategicMerge(pod, {
      metadata: {
        $deleteFromPrimitiveList: undefined,
        '$deleteFromPrimitiveList/finalizers': ['x'],
      },
      spec: {
        '$setElementOrder/containers': [{ name: 'side' }, { name: 'app' }],
        containers: [{ name: 'app', image: 'a:2' }],
        volumes: [{ name: 'v', $retainKeys: ['name', 'hostPath'], hostPath: { path: '/x' } }],
      },
    }) as typeof pod & { spec: { volumes: object[] } };
    expect(out.metadata.finalizers).toEqual([]);
    expect(out.spec.containers.map((c) => `${c.name}=${c.image}`)).toEqual(['side=s:1', 'app=a:2']);
    expect(out.spec.volumes).toEqual([{ name: 'v', hostPath: { path: '/x' } }]);
    const deleted = strategicMerge(pod, {
      spec: { containers: [{ name: 'side', $patch: 'delete' }] },
    }) as typeof pod;
    expect(deleted.spec.containers.map((c) => c.name)).toEqual(['app']);
    const replaced = strategicMerge(pod, {
      metadata: { labels: { $patch: 'replace', z: '9' } },
    }) as typeof pod;
    expect(replaced.metadata.labels).toEqual({ z: '9' });
  });
});

describe('JSON and merge patches', () => {
  const live = obj({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'c' },
    data: { a: '1' },
  });
  it('applies RFC 7386 and RFC 6902', () => {
    expect(applyPatch('merge', live, '{"data":{"a":null,"b":"2"}}')).toMatchObject({
      data: { b: '2' },
    });
    expect(
      applyPatch('json', live, '[{"op":"replace","path":"/data/a","value":"3"}]'),
    ).toMatchObject({ data: { a: '3' } });
  });
  it('fails like the server: 422 for a failed test op, 400 for an object as JSON patch, 422 for an array as merge patch', () => {
    const code = (f: () => unknown) => {
      try {
        f();
      } catch (e) {
        return (e as ApiError).code;
      }
      return 0;
    };
    expect(
      code(() => applyPatch('json', live, '[{"op":"test","path":"/data/a","value":"9"}]')),
    ).toBe(422);
    expect(code(() => applyPatch('json', live, '{"data":{}}'))).toBe(400);
    expect(code(() => applyPatch('merge', live, '[]'))).toBe(422);
    expect(code(() => applyPatch('merge', live, '{'))).toBe(400);
  });
});

describe('managed fields', () => {
  it('round-trips FieldsV1 and names paths as conflicts do', () => {
    const tree = {
      'f:metadata': { 'f:labels': { '.': {}, 'f:app': {} } },
      'f:spec': { 'f:containers': { 'k:{"name":"app"}': { '.': {}, 'f:image': {} } } },
    };
    expect(toFieldsV1(fromFieldsV1(tree))).toEqual(tree);
    expect(describePath(['f:spec', 'f:containers', 'k:{"name":"app"}', 'f:image'])).toBe(
      '.spec.containers[name="app"].image',
    );
  });

  it('an Update owns what it changed and takes it from others; the writer moves last', () => {
    const t = (m: string) => ({ manager: m, apiVersion: 'v1', time: '2026-01-01T00:00:00Z' });
    const v1 = obj({ metadata: { name: 'x', labels: { a: '1' } }, data: { k: 'v' } });
    const mf1 = updateManagedFields(null, v1, t('create'));
    expect(mf1.map((e) => e.manager)).toEqual(['create']);
    expect(mf1[0]!.fieldsV1).toEqual({
      'f:data': { '.': {}, 'f:k': {} },
      'f:metadata': { 'f:labels': { '.': {}, 'f:a': {} } },
    });
    const v2 = obj({
      metadata: { name: 'x', labels: { a: '2' }, managedFields: mf1 },
      data: { k: 'v' },
    });
    v1.metadata!.managedFields = mf1;
    const mf3 = updateManagedFields(v1, v2, t('label'));
    expect(mf3.map((e) => e.manager)).toEqual(['create', 'label']);
    expect(mf3[0]!.fieldsV1).toEqual({
      'f:data': { '.': {}, 'f:k': {} },
      'f:metadata': { 'f:labels': { '.': {} } },
    });
    expect(mf3[1]!.fieldsV1).toEqual({ 'f:metadata': { 'f:labels': { 'f:a': {} } } });
  });

  it('apply conflicts with a field another manager set differently, and drops fields it stops applying', () => {
    const ctx = { manager: 'scribe', apiVersion: 'v1', time: 'T' };
    const live = obj({
      metadata: {
        name: 'x',
        annotations: { a: '1', mine: 'old' },
        managedFields: [
          {
            manager: 'kubectl',
            operation: 'Apply',
            apiVersion: 'v1',
            time: 'T',
            fieldsType: 'FieldsV1',
            fieldsV1: { 'f:metadata': { 'f:annotations': { 'f:a': {} } } },
          },
          {
            manager: 'scribe',
            operation: 'Apply',
            apiVersion: 'v1',
            time: 'T',
            fieldsType: 'FieldsV1',
            fieldsV1: { 'f:metadata': { 'f:annotations': { 'f:mine': {} } } },
          },
        ],
      },
    });
    const applied = obj({ metadata: { name: 'x', annotations: { a: '2' } } });
    const merged = obj({
      metadata: {
        name: 'x',
        annotations: { a: '2', mine: 'old' },
        managedFields: live.metadata!.managedFields,
      },
    });
    const r = applyManagedFields(live, merged, applied, ctx, false);
    expect(conflictMessage(r.conflicts)).toBe(
      'Apply failed with 1 conflict: conflict with "kubectl": .metadata.annotations.a',
    );
    const forced = applyManagedFields(live, merged, applied, ctx, true);
    expect(forced.conflicts).toEqual([]);
    expect(forced.object.metadata!.annotations).toEqual({ a: '2' }); // "mine" no longer applied by anyone
    expect(forced.object.metadata!.managedFields!.map((e) => e.manager)).toEqual(['scribe']);
    // Same value: shared ownership, no conflict.
    const same = applyManagedFields(
      live,
      merged,
      obj({ metadata: { name: 'x', annotations: { a: '1' } } }),
      ctx,
      false,
    );
    expect(same.conflicts).toEqual([]);
  });

  it('field paths skip server-owned metadata and, for the main resource, status', () => {
    const paths = fieldPaths(
      {
        metadata: { name: 'x', uid: 'u', labels: { a: 'b' } },
        status: { phase: 'P' },
        spec: { x: 1 },
      },
      'main',
      false,
    );
    expect(paths).toEqual([
      ['f:metadata', 'f:labels', 'f:a'],
      ['f:spec', 'f:x'],
    ]);
  });
});

describe('defaults', () => {
  it('generated names: prefix (cut to 58) plus 5 characters of the apimachinery alphabet', () => {
    expect(randomSuffix(5, () => 0)).toBe('bbbbb');
    expect(randomSuffix(5, () => 0.9999)).toBe('99999');
    expect(generateName('x'.repeat(70), () => 0.5)).toHaveLength(63);
  });

  it('PVCs get volumeMode Filesystem, phase Pending and the protection finalizer', () => {
    const pvc = obj({ metadata: { name: 'c' }, spec: {} });
    applySchemeDefaults(rt('persistentvolumeclaims'), pvc);
    admitCreate(rt('persistentvolumeclaims'), pvc);
    expect(pvc).toEqual({
      metadata: { name: 'c', finalizers: ['kubernetes.io/pvc-protection'] },
      spec: { volumeMode: 'Filesystem' },
      status: { phase: 'Pending' },
    });
  });

  it('pods: image pull policy by tag, QoS classes', () => {
    const pod = obj({
      metadata: { name: 'p' },
      spec: {
        containers: [
          { name: 'a', image: 'x' },
          { name: 'b', image: 'y:1' },
          { name: 'c', image: 'z:latest' },
        ],
      },
    });
    applySchemeDefaults(rt('pods'), pod);
    const cs = (pod as unknown as { spec: { containers: { imagePullPolicy: string }[] } }).spec
      .containers;
    expect(cs.map((c) => c.imagePullPolicy)).toEqual(['Always', 'IfNotPresent', 'Always']);
    expect(qosClass({ containers: [{ name: 'a' }] })).toBe('BestEffort');
    expect(
      qosClass({ containers: [{ name: 'a', resources: { limits: { cpu: '1', memory: '1Gi' } } }] }),
    ).toBe('Guaranteed');
    expect(qosClass({ containers: [{ name: 'a', resources: { requests: { cpu: '1' } } }] })).toBe(
      'Burstable',
    );
  });
});

describe('validation and immutability', () => {
  it('qualified names in the server words', () => {
    expect(qualifiedNameError('scribe.backube.io/replication')).toBeUndefined();
    expect(qualifiedNameError('a/b/c')).toMatch(/^a qualified name must consist of/);
    expect(qualifiedNameError('Bad_Prefix/x')).toMatch(
      /^prefix part a lowercase RFC 1123 subdomain/,
    );
    expect(qualifiedNameError(`x/${'n'.repeat(64)}`)).toBe(
      'name part must be no more than 63 characters',
    );
  });

  it('names: DNS-1123 subdomain for most kinds, label for namespaces', () => {
    expect(validateObject(rt('configmaps'), obj({ metadata: { name: 'a.b' } }))).toEqual([]);
    expect(validateObject(rt('namespaces'), obj({ metadata: { name: 'a.b' } }))[0]!.field).toBe(
      'metadata.name',
    );
  });

  it('a bound claim may grow; anything else in its spec is immutable', () => {
    const spec = {
      accessModes: ['ReadWriteOnce'],
      resources: { requests: { storage: '1Gi' } },
      volumeName: 'pv1',
    };
    const old = obj({ spec });
    expect(
      pvcUpdateErrors(old, obj({ spec: { ...spec, resources: { requests: { storage: '2Gi' } } } })),
    ).toEqual([]);
    expect(
      pvcUpdateErrors(old, obj({ spec: { ...spec, accessModes: ['ReadWriteMany'] } }))[0]!.reason,
    ).toBe('FieldValueForbidden');
    const unbound = obj({ spec: { ...spec, volumeName: undefined } });
    expect(pvcUpdateErrors(unbound, obj({ spec }))).toEqual([]); // binding sets volumeName
    expect(
      pvcUpdateErrors(
        unbound,
        obj({
          spec: { ...spec, volumeName: undefined, resources: { requests: { storage: '2Gi' } } },
        }),
      ),
    ).toHaveLength(1);
  });

  it('pods: image and toleration additions allowed, other spec changes not; immutable ConfigMaps', () => {
    const old = obj({
      spec: { containers: [{ name: 'a', image: 'x:1' }], tolerations: [{ key: 't' }] },
    });
    expect(
      immutableFieldErrors(
        rt('pods'),
        old,
        obj({
          spec: {
            containers: [{ name: 'a', image: 'x:2' }],
            tolerations: [{ key: 't' }, { key: 'u' }],
          },
        }),
      ),
    ).toEqual([]);
    expect(
      immutableFieldErrors(
        rt('pods'),
        old,
        obj({ spec: { containers: [{ name: 'a', image: 'x:1' }], tolerations: [] } }),
      ),
    ).toHaveLength(1);
    const cm = obj({ immutable: true, data: { a: '1' } });
    expect(
      immutableFieldErrors(rt('configmaps'), cm, obj({ immutable: true, data: { a: '2' } }))[0]!
        .field,
    ).toBe('data');
  });
});

describe('garbage collection decisions', () => {
  it('delete when every owner is gone, drop dangling references when one remains', () => {
    const o = obj({ metadata: { ownerReferences: [{ uid: 'a' }, { uid: 'b' }] } });
    expect(ownerVerdict(o, new Set())).toEqual({ action: 'delete' });
    expect(ownerVerdict(o, new Set(['a']))).toEqual({ action: 'dropRefs', keep: [{ uid: 'a' }] });
    expect(ownerVerdict(o, new Set(['a', 'b']))).toEqual({ action: 'none' });
    expect(defaultPropagation(rt('jobs'))).toBe('Orphan');
    expect(defaultPropagation(rt('replicasets'))).toBe('Background');
  });

  it('a claim is protected while a scheduled, unfinished pod mounts it', () => {
    const claim: Located = {
      rt: rt('persistentvolumeclaims'),
      object: obj({
        metadata: {
          name: 'c',
          namespace: 'n',
          deletionTimestamp: 'T',
          finalizers: ['kubernetes.io/pvc-protection'],
        },
      }),
    };
    const pod = (nodeName: string | undefined, phase: string): Located => ({
      rt: rt('pods'),
      object: obj({
        metadata: { name: 'p', namespace: 'n' },
        spec: { nodeName, volumes: [{ persistentVolumeClaim: { claimName: 'c' } }] },
        status: { phase },
      }),
    });
    expect(removableProtection(claim, [claim, pod('node', 'Running')])).toBeUndefined();
    expect(removableProtection(claim, [claim, pod(undefined, 'Pending')])).toBe(
      'kubernetes.io/pvc-protection',
    );
    expect(removableProtection(claim, [claim, pod('node', 'Succeeded')])).toBe(
      'kubernetes.io/pvc-protection',
    );
  });
});

describe('HTTP edge helpers', () => {
  it('parses resource paths', () => {
    expect(
      parseResourcePath('/api/v1/namespaces/ns/persistentvolumeclaims/c/status'),
    ).toMatchObject({ namespace: 'ns', name: 'c', subresource: 'status' });
    expect(parseResourcePath('/api/v1/namespaces/ns')).toMatchObject({ name: 'ns' });
    expect(parseResourcePath('/api/v1/namespaces/ns/status')).toMatchObject({
      name: 'ns',
      subresource: 'status',
    });
    expect(parseResourcePath('/apis/apps/v1/namespaces/ns/deployments')).toMatchObject({
      namespace: 'ns',
    });
    expect(parseResourcePath('/apis/storage.k8s.io/v1/storageclasses/fast')).toMatchObject({
      name: 'fast',
    });
    expect(parseResourcePath('/api/v1/namespaces/ns/configmaps/c/status')).toBeUndefined();
    expect(parseResourcePath('/api/v1/namespaces/ns/storageclasses')).toBeUndefined();
    expect(parseResourcePath('/apis/example.io/v1/things')).toBeUndefined();
  });

  it('recognises kubectl Table requests and quotes warnings', () => {
    expect(
      wantsTable(
        'application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json',
      ),
    ).toBe(true);
    expect(wantsTable('application/json')).toBe(false);
    expect(warningHeader('say "hi"\nthere')).toBe('299 - "say \\"hi\\" there"');
  });

  it('ages like kubectl', () => {
    expect(
      [5e3, 119e3, 150e3, 600e3, 7200e3, 9 * 3600e3, 50 * 3600e3, 9 * 86400e3, 800 * 86400e3].map(
        humanDuration,
      ),
    ).toEqual(['5s', '119s', '2m30s', '10m', '120m', '9h', '2d2h', '9d', '2y70d']);
  });
});

describe('protobuf bodies', () => {
  const varint = (n: number): number[] => {
    const out: number[] = [];
    while (n > 0x7f) {
      out.push((n & 0x7f) | 0x80);
      n >>>= 7;
    }
    out.push(n);
    return out;
  };
  const field = (num: number, payload: Buffer | string): Buffer => {
    const b = typeof payload === 'string' ? Buffer.from(payload) : payload;
    return Buffer.from([...varint((num << 3) | 2), ...varint(b.length), ...b]);
  };
  const entry = (k: string, v: Buffer | string) => Buffer.concat([field(1, k), field(2, v)]);

  it('decodes a Secret in the runtime.Unknown envelope, bytes as base64 and zero values dropped', () => {
    const meta = Buffer.concat([field(1, 'keys'), field(2, ''), field(11, entry('app', 'scribe'))]);
    const secret = Buffer.concat([
      field(1, meta),
      field(2, entry('a', Buffer.from([0, 1, 2]))),
      field(3, 'Opaque'),
    ]);
    const typeMeta = Buffer.concat([field(1, 'v1'), field(2, 'Secret')]);
    const body = Buffer.concat([
      Buffer.from('k8s\0', 'latin1'),
      field(1, typeMeta),
      field(2, secret),
    ]);
    expect(decodeProtobufObject(body)).toEqual({
      kind: 'Secret',
      apiVersion: 'v1',
      metadata: { name: 'keys', labels: { app: 'scribe' } },
      data: { a: 'AAEC' },
      type: 'Opaque',
    });
  });

  it('decodes IntOrString, Time and refuses a body without the magic', () => {
    const port = Buffer.concat([
      Buffer.from([0x18, 0x50]),
      field(4, Buffer.from([0x08, 0x01, 0x1a, 0x04, ...Buffer.from('http')])),
    ]);
    expect(decodeMessage('core.v1.ServicePort', port)).toEqual({ port: 80, targetPort: 'http' });
    const time = Buffer.from([0x08, ...varint(1_700_000_000)]);
    expect(decodeMessage('meta.ObjectMeta', field(8, time))).toEqual({
      creationTimestamp: '2023-11-14T22:13:20Z',
    });
    expect(() => decodeProtobufObject(Buffer.from('{}'))).toThrow('magic number');
  });
});
