import type { V1PersistentVolumeClaim, V1Pod } from '@kubernetes/client-node';
import jsonpatch from 'fast-json-patch';
import { describe, expect, it } from 'vitest';
import { specKeys } from '../../model/src/index.ts';
import {
  type AdmissionRequest,
  type JsonPatchOperation,
  serializeReview,
  toReview,
} from '../../webhook/src/admission-review.ts';
import { injectedAnnotation, readLive } from '../../webhook/src/live-reading.ts';
import { type InjectionContext, injectLiveSidecars } from '../../webhook/src/pod-injection.ts';
import { capabilitiesOf } from '../../webhook/src/server-capabilities.ts';
import { DEFAULT_RESOURCES, type SidecarMode } from '../../webhook/src/sidecar.ts';
import { fixture } from './support/fixtures.ts';
import { podUniquenessErrors, schemaErrors } from './support/kube-schema.ts';
import { admissionFixture, scribeShaped, type Shape } from './support/scribe-shaped.ts';

const IMAGE = 'ghcr.io/backube/scribe:0.1.0';
const NS = 'scribe-fixtures';

// The claims the pods mount, as the cache would hold them: the captured
// claims with their annotations rewritten to a live source.
function claim(file: string, shape: Shape = {}): V1PersistentVolumeClaim {
  return scribeShaped(file, { extra: { [specKeys.method]: 'live' }, ...shape }).request
    .object as V1PersistentVolumeClaim;
}
const DATA_FS = claim(
  '0002-validate-PersistentVolumeClaim-CREATE--pvc-create-filesystem-annotated.json',
);
const DATA_BLOCK = claim(
  '0004-validate-PersistentVolumeClaim-CREATE--pvc-create-block-annotated.json',
);

function context(
  mode: SidecarMode,
  claims: V1PersistentVolumeClaim[] = [DATA_FS, DATA_BLOCK],
): InjectionContext {
  const byName = new Map(claims.map((c) => [`${c.metadata!.namespace}/${c.metadata!.name}`, c]));
  return {
    pvcs: { get: (ns, name) => byName.get(`${ns}/${name}`) },
    readLive,
    sidecar: { image: IMAGE, resources: DEFAULT_RESOURCES, mode },
    excludedNamespaces: new Set(['kube-system', 'scribe-system']),
    markerAnnotation: injectedAnnotation,
  };
}

// The patch as the apiserver gets it (base64 in the review), applied to the pod.
function applied(
  req: AdmissionRequest,
  ctx: InjectionContext,
): { pod: V1Pod; patch: JsonPatchOperation[] } {
  const decision = injectLiveSidecars(req, ctx).decision;
  // The text the server writes, read back as the apiserver reads it.
  const review = JSON.parse(serializeReview(req.uid, decision)) as ReturnType<typeof toReview>;
  expect(review).toEqual(toReview(req.uid, decision));
  expect(review.response.patchType).toBe('JSONPatch');
  const patch = JSON.parse(
    Buffer.from(review.response.patch!, 'base64').toString('utf8'),
  ) as JsonPatchOperation[];
  const pod = jsonpatch.applyPatch(
    structuredClone(req.object),
    patch as jsonpatch.Operation[],
    true,
    false,
  ).newDocument as V1Pod;
  return { pod, patch };
}

function expectValidPod(pod: V1Pod): void {
  expect(schemaErrors('V1Pod', pod)).toEqual([]);
  expect(podUniquenessErrors(pod)).toEqual([]);
}

const request = (file: string) => admissionFixture(file).request;
const FS_POD = '0021-mutate-Pod-CREATE--pod-create-volumemounts.json';
const INIT_POD = '0023-mutate-Pod-CREATE--pod-create-existing-initcontainer.json';
const BLOCK_POD = '0025-mutate-Pod-CREATE--pod-create-volumedevices-block.json';
const RS_POD = '0033-mutate-Pod-CREATE--pod-create-by-replicaset-generatename.json';

describe('live sidecar injection on the captured pod creates', () => {
  it('adds a native sidecar where the pod has no initContainers, mounting the claim read-only, with the keys and limits', () => {
    const req = request(FS_POD);
    expect((req.object as V1Pod).spec!.initContainers).toBeUndefined();
    const { pod, patch } = applied(req, context('native'));
    expect(patch.map((p) => `${p.op} ${p.path}`)).toEqual([
      'add /spec/initContainers',
      'add /spec/volumes/-',
      'add /spec/volumes/-',
      'add /metadata/annotations',
    ]);
    expectValidPod(pod);
    const [sidecar] = pod.spec!.initContainers!;
    expect(sidecar).toMatchObject({
      name: 'scribe-live-data',
      image: IMAGE,
      restartPolicy: 'Always',
      resources: {
        requests: { cpu: '50m', memory: '64Mi' },
        limits: { cpu: '1', memory: '512Mi' },
      },
    });
    expect(sidecar!.volumeMounts).toContainEqual({
      name: 'data',
      mountPath: '/scribe/source',
      readOnly: true,
    });
    expect(sidecar!.command).toEqual([
      'scribe-webhook',
      'live-sync',
      '--schedule',
      '*/10 * * * *',
      '--',
      'send',
      '--volume',
      '/scribe/source',
      '--to',
      'backup.example.net:2222',
      '--key',
      '/etc/scribe/keys/client_ed25519',
      '--known-host-key',
      '/etc/scribe/keys/host_ed25519.pub',
      '--json',
    ]);
    // Only what reading everything needs: no privilege, no escalation, no fsGroup.
    expect(sidecar!.securityContext).toEqual({
      runAsUser: 0,
      runAsNonRoot: false,
      privileged: false,
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ['ALL'], add: ['DAC_OVERRIDE'] },
      seccompProfile: { type: 'RuntimeDefault' },
    });
    expect(pod.spec!.securityContext).toEqual((req.object as V1Pod).spec!.securityContext);
    // The baseline Pod Security Standard's list of capabilities that may be added.
    const baseline = [
      'AUDIT_WRITE',
      'CHOWN',
      'DAC_OVERRIDE',
      'FOWNER',
      'FSETID',
      'KILL',
      'MKNOD',
      'NET_BIND_SERVICE',
      'SETFCAP',
      'SETGID',
      'SETPCAP',
      'SETUID',
      'SYS_CHROOT',
    ];
    expect(sidecar!.securityContext!.capabilities!.add!.every((c) => baseline.includes(c))).toBe(
      true,
    );
    const keys = pod.spec!.volumes!.find((v) => v.name === 'scribe-live-data-keys');
    expect(keys?.secret).toEqual({
      secretName: 'scribe-keys',
      defaultMode: 0o400,
      items: [
        { key: 'client_ed25519', path: 'client_ed25519' },
        { key: 'host_ed25519.pub', path: 'host_ed25519.pub' },
      ],
    });
    expect(pod.metadata!.annotations).toEqual({ [injectedAnnotation]: 'data-fs' });
    // The application container is untouched.
    expect(pod.spec!.containers).toEqual((req.object as V1Pod).spec!.containers);
  });

  it("appends after the pod's own init containers, so they still run first", () => {
    const { pod, patch } = applied(request(INIT_POD), context('native'));
    expect(patch[0]).toMatchObject({ op: 'add', path: '/spec/initContainers/-' });
    expect(pod.spec!.initContainers!.map((c) => c.name)).toEqual(['prepare', 'scribe-live-data']);
    expectValidPod(pod);
  });

  it('attaches a Block claim as a device, not a mount', () => {
    const { pod } = applied(request(BLOCK_POD), context('native'));
    expectValidPod(pod);
    const sidecar = pod.spec!.initContainers![0]!;
    expect(sidecar.name).toBe('scribe-live-disk');
    expect(sidecar.volumeDevices).toEqual([{ name: 'disk', devicePath: '/dev/scribe-source' }]);
    expect(sidecar.volumeMounts!.map((m) => m.name)).not.toContain('disk');
    expect(sidecar.command).toContain('/dev/scribe-source');
    // The captured block claim has no schedule: manual.
    expect(sidecar.command!.slice(2, 4)).toEqual(['--schedule', 'manual']);
  });

  it('handles a ReplicaSet pod with generateName and no name', () => {
    const req = request(RS_POD);
    expect(req.name).toBeUndefined();
    expect((req.object as V1Pod).metadata!.name).toBeUndefined();
    const { pod } = applied(req, context('native'));
    expectValidPod(pod);
    expect(pod.metadata!.generateName).toBe('web-6678464bfb-');
    expect(pod.spec!.initContainers!.map((c) => c.name)).toEqual(['scribe-live-data']);
  });

  it('uses a regular container where native sidecars are not supported (1.24 drops restartPolicy)', () => {
    // What 1.24 did with a native sidecar: the field is gone from the stored pod.
    const captured = fixture<{
      createResponse: { body: V1Pod };
      webhookPatchDecoded: { value: { restartPolicy?: string }[] }[];
    }>('webhook/native-sidecar-injection.json');
    expect(captured.webhookPatchDecoded[0]!.value[0]!.restartPolicy).toBe('Always');
    expect(captured.createResponse.body.spec!.initContainers![0]!.restartPolicy).toBeUndefined();
    expect(capabilitiesOf({ major: '1', minor: '24' }).nativeSidecars).toBe(false);
    expect(capabilitiesOf({ major: '1', minor: '29+' }).nativeSidecars).toBe(true);

    const { pod, patch } = applied(request(FS_POD), context('container'));
    expect(patch[0]).toMatchObject({ op: 'add', path: '/spec/containers/-' });
    expect(pod.spec!.initContainers).toBeUndefined();
    expect(pod.spec!.containers.map((c) => c.name)).toEqual(['app', 'scribe-live-data']);
    expect(pod.spec!.containers[1]!.restartPolicy).toBeUndefined();
    expectValidPod(pod);
  });

  it('is idempotent: a reinvocation on the patched pod adds nothing', () => {
    for (const mode of ['native', 'container'] as const) {
      const req = request(INIT_POD);
      const { pod } = applied(req, context(mode));
      const again = injectLiveSidecars({ ...req, object: pod }, context(mode));
      expect(again.decision).toEqual({ allowed: true, warnings: [] });
      expect(toReview(req.uid, again.decision).response).toEqual({ uid: req.uid, allowed: true });
    }
  });

  it('escapes the marker annotation path (RFC 6901) when the pod already has annotations', () => {
    const req = request(FS_POD);
    (req.object as V1Pod).metadata!.annotations = { 'example.com/a~b': 'x' };
    const { pod, patch } = applied(req, context('native'));
    expect(patch.at(-1)).toEqual({
      op: 'add',
      path: `/metadata/annotations/${injectedAnnotation.replace('/', '~1')}`,
      value: 'data-fs',
    });
    expect(patch.at(-1)!.path).toBe(
      '/metadata/annotations/status.scribe.backube.io~1live-sidecars',
    );
    expect(pod.metadata!.annotations).toEqual({
      'example.com/a~b': 'x',
      [injectedAnnotation]: 'data-fs',
    });
  });

  it('gives a pod with no volumes at all nothing, and one whose claim is not live nothing', () => {
    const req = request(FS_POD);
    delete (req.object as V1Pod).spec!.volumes;
    expect(injectLiveSidecars(req, context('native')).decision).toEqual({
      allowed: true,
      warnings: [],
    });
    const snapshot = claim(
      '0002-validate-PersistentVolumeClaim-CREATE--pvc-create-filesystem-annotated.json',
      {
        extra: { [specKeys.method]: 'snapshot' },
      },
    );
    expect(injectLiveSidecars(request(FS_POD), context('native', [snapshot])).injected).toEqual([]);
    expect(injectLiveSidecars(request(FS_POD), context('native', [])).injected).toEqual([]);
  });

  it('skips pods in excluded namespaces, mirror pods, updates, deletes and subresources', () => {
    const ctx = context('native');
    const inSystem = request(FS_POD);
    inSystem.namespace = 'kube-system';
    expect(injectLiveSidecars(inSystem, ctx).injected).toEqual([]);
    const mirror = request(FS_POD);
    (mirror.object as V1Pod).metadata!.annotations = { 'kubernetes.io/config.mirror': 'abc' };
    expect(injectLiveSidecars(mirror, ctx).injected).toEqual([]);
    for (const file of [
      '0037-mutate-Pod-UPDATE--pod-update-kubectl-label.json',
      '0039-mutate-Pod-DELETE--pod-delete-kubectl.json',
    ]) {
      expect(injectLiveSidecars(request(file), ctx).decision).toEqual({
        allowed: true,
        warnings: [],
      });
    }
    const eviction = request(FS_POD);
    eviction.subResource = 'binding';
    expect(injectLiveSidecars(eviction, ctx).injected).toEqual([]);
  });

  it('skips a paused claim or one without an endpoint, and says so', () => {
    const paused = claim(
      '0002-validate-PersistentVolumeClaim-CREATE--pvc-create-filesystem-annotated.json',
      {
        extra: { [specKeys.method]: 'live', [specKeys.paused]: 'true' },
      },
    );
    const r = injectLiveSidecars(request(FS_POD), context('native', [paused]));
    expect(r.injected).toEqual([]);
    expect(r.decision.warnings).toEqual([
      `scribe: no live copy for PersistentVolumeClaim data-fs: replication is paused (${specKeys.paused})`,
    ]);
    const noEndpoint = claim(
      '0002-validate-PersistentVolumeClaim-CREATE--pvc-create-filesystem-annotated.json',
      {
        drop: [specKeys.endpoint],
      },
    );
    expect(injectLiveSidecars(request(FS_POD), context('native', [noEndpoint])).skipped[0]).toMatch(
      /no scribe\.backube\.io\/endpoint yet/,
    );
  });

  it('answers a dry run exactly as the real request', () => {
    const dry = request(FS_POD);
    dry.dryRun = true;
    expect(injectLiveSidecars(dry, context('native'))).toEqual(
      injectLiveSidecars(request(FS_POD), context('native')),
    );
  });

  it('injects one sidecar per live claim, with distinct names', () => {
    const req = request(FS_POD);
    const pod = req.object as V1Pod;
    pod.spec!.volumes!.push({ name: 'disk', persistentVolumeClaim: { claimName: 'data-block' } });
    pod.spec!.containers[0]!.volumeDevices = [{ name: 'disk', devicePath: '/dev/xvda' }];
    const { pod: out } = applied(req, context('native'));
    expectValidPod(out);
    expect(out.spec!.initContainers!.map((c) => c.name)).toEqual([
      'scribe-live-data',
      'scribe-live-disk',
    ]);
    expect(out.metadata!.annotations![injectedAnnotation]).toBe('data-fs,data-block');
    expect(NS).toBe(req.namespace);
  });

  it('gives pods of the same shape one shared, frozen patch, and pods of another shape their own', () => {
    const ctx = context('native');
    const first = injectLiveSidecars(request(RS_POD), ctx).decision;
    const second = injectLiveSidecars(request(RS_POD), ctx).decision;
    expect(first.allowed && second.allowed).toBe(true);
    const patch = first.allowed ? first.patch! : [];
    expect(second.allowed && second.patch).toBe(patch);
    expect(Object.isFrozen(patch) && Object.isFrozen((patch[0] as { value: unknown }).value)).toBe(
      true,
    );
    expect(() => patch.push({ op: 'remove', path: '/spec' })).toThrow(TypeError);
    // Frozen patches share nothing with the context they were built from.
    expect(Object.isFrozen(ctx.sidecar.resources)).toBe(false);
    // The same claim, but the pod already records another claim's sidecar.
    const marked = request(RS_POD);
    (marked.object as V1Pod).metadata!.annotations = { [injectedAnnotation]: 'other' };
    const { pod } = applied(marked, ctx);
    expect(pod.metadata!.annotations![injectedAnnotation]).toBe('other,data-fs');
    // Another endpoint for the claim (a new object in the cache): a new patch.
    const moved = structuredClone(DATA_FS);
    moved.metadata!.annotations![specKeys.endpoint] = '10.0.0.99:2222';
    const again = applied(request(RS_POD), context('native', [moved, DATA_BLOCK]));
    expect(again.pod.spec!.initContainers![0]!.command).toContain('10.0.0.99:2222');
  });

  it('builds the patch afresh, unshared, when the marker text is long', () => {
    const ctx = context('native');
    const long = request(RS_POD);
    const marker = 'm'.repeat(3000);
    (long.object as V1Pod).metadata!.annotations = { [injectedAnnotation]: marker };
    const first = injectLiveSidecars(long, ctx).decision;
    const second = injectLiveSidecars(long, ctx).decision;
    expect(first.allowed && second.allowed && first.patch !== second.patch).toBe(true);
    expect(second).toEqual(first);
    const { pod } = applied(long, ctx);
    expect(pod.metadata!.annotations![injectedAnnotation]).toBe(`${marker},data-fs`);
  });

  it("keeps a pod author's marker text from standing in for another shape", () => {
    const ctx = context('native');
    // A marker crafted to read like a further sidecar entry in a naive key.
    const crafted = request(FS_POD);
    (crafted.object as V1Pod).metadata!.annotations = {
      [injectedAnnotation]: '"],["data","data-fs","Filesystem","evil:22","s","manual"',
    };
    injectLiveSidecars(crafted, ctx);
    const { pod } = applied(request(FS_POD), ctx);
    expect(pod.metadata!.annotations![injectedAnnotation]).toBe('data-fs');
    expect(JSON.stringify(pod)).not.toContain('evil');
  });
});
