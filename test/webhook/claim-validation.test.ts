import { specKeys, statusKeys } from '../../model/src/index.ts';
import { describe, expect, it } from 'vitest';
import { toReview } from '../../webhook/src/admission-review.ts';
import { validateClaim } from '../../webhook/src/claim-validation.ts';
import { admissionFixture, scribeShaped, type Shape } from './support/scribe-shaped.ts';

const verdict = (file: string, shape?: Shape) => validateClaim(scribeShaped(file, shape).request);
const FS_CREATE =
  '0002-validate-PersistentVolumeClaim-CREATE--pvc-create-filesystem-annotated.json';
const BLOCK_CREATE = '0004-validate-PersistentVolumeClaim-CREATE--pvc-create-block-annotated.json';
const LIVE = { extra: { [specKeys.method]: 'live' } };

describe('claim validation on the captured AdmissionReviews', () => {
  it('allows a well-formed snapshot source on a Filesystem claim, with no warnings', () => {
    const v = verdict(FS_CREATE);
    expect(v.decision).toEqual({ allowed: true, warnings: [] });
  });

  it('allows a Block source whose recorded destination is Block; access modes, classes and drivers are free', () => {
    expect(verdict(BLOCK_CREATE).decision.allowed).toBe(true);
    const rwx = scribeShaped(BLOCK_CREATE);
    (
      rwx.request.object as { spec: { accessModes: string[]; storageClassName?: string } }
    ).spec.accessModes = ['ReadWriteMany'];
    (rwx.request.object as { spec: { storageClassName?: string } }).spec.storageClassName =
      'other-driver';
    expect(validateClaim(rwx.request).decision.allowed).toBe(true);
  });

  it('rejects a source whose volume mode differs from the destination it recorded', () => {
    const v = verdict(BLOCK_CREATE, { volumeMode: 'Filesystem' });
    expect(v.reason).toBe('volume-mode');
    expect(v.decision).toMatchObject({ allowed: false, code: 422 });
    const message = (v.decision as { message: string }).message;
    expect(message).toContain(`metadata.annotations[${specKeys.volumeMode}]`);
    expect(message).toContain(
      "the source volume mode is Block but the destination's is Filesystem",
    );
  });

  it('passes a plain claim, a DELETE and the finalizer removal through untouched', () => {
    expect(
      verdict('0006-validate-PersistentVolumeClaim-CREATE--pvc-create-plain.json').decision,
    ).toEqual({ allowed: true, warnings: [] });
    expect(
      verdict('0048-validate-PersistentVolumeClaim-DELETE--pvc-delete-kubectl.json').decision,
    ).toEqual({ allowed: true, warnings: [] });
    const f = verdict(
      '0050-validate-PersistentVolumeClaim-UPDATE--pvc-update-finalizer-removed-by-pvc-protection-controller.json',
      LIVE,
    );
    expect(f.decision.allowed).toBe(true);
  });

  it('never holds up a write that leaves a broken spec as it was (deleting a claim must work)', () => {
    // The spec lacks its Secret, before and after: the pvc-protection controller's update still passes.
    const file =
      '0050-validate-PersistentVolumeClaim-UPDATE--pvc-update-finalizer-removed-by-pvc-protection-controller.json';
    const v = verdict(file, { drop: [specKeys.secret] });
    expect(v.decision.allowed).toBe(true);
    expect(v.decision.warnings?.[0]).toMatch(
      /invalid replication spec: .*scribe\.backube\.io\/secret.*missing/,
    );
    // The same broken spec written by kubectl annotate (it changes the annotations) is refused.
    const annotate = verdict(
      '0010-validate-PersistentVolumeClaim-UPDATE--pvc-update-kubectl-annotate.json',
      { drop: [specKeys.secret] },
    );
    expect(annotate.decision.allowed).toBe(false);
  });

  it('warns that live is not crash-consistent (kubectl annotate switching a claim to live)', () => {
    const v = verdict(
      '0010-validate-PersistentVolumeClaim-UPDATE--pvc-update-kubectl-annotate.json',
    );
    expect(v.decision.allowed).toBe(true);
    expect(v.decision.warnings?.join('\n')).toMatch(/"live" .* not crash-consistent/);
    // The captured claim has no schedule: a manual live copy only syncs at pod start.
    expect(v.decision.warnings?.join('\n')).toMatch(/schedule "manual"/);
  });

  it('rejects a spec missing its method, naming the annotation and the valid forms', () => {
    const v = verdict(
      '0060-validate-PersistentVolumeClaim-CREATE--pvc-create-kubectl-apply-client-side.json',
    );
    expect(v.decision).toMatchObject({ allowed: false, code: 422 });
    expect((v.decision as { message: string }).message).toBe(
      `invalid replication spec: metadata.annotations[${specKeys.method}]: missing: a source needs a method (live, snapshot or clone)`,
    );
  });

  it("ignores a method Scribe does not know (a vendor operator's), with a warning", () => {
    // The capture's webhook denied "teleport"; for Scribe it is a vendor's method.
    const v = verdict(
      '0078-validate-PersistentVolumeClaim-CREATE--pvc-create-denied-by-validating-webhook.json',
    );
    expect(v.decision.allowed).toBe(true);
    expect(v.decision.warnings).toEqual([
      'scribe: method "teleport" is not one of Scribe\'s (live, snapshot, clone); Scribe leaves this claim to the operator that provides it',
    ]);
  });

  const malformed: [string, Record<string, string>, RegExp][] = [
    [
      'a bad schedule',
      { [specKeys.schedule]: '*/10 * * *' },
      /schedule\]: "\*\/10 \* \* \*" is not a schedule: use 5 cron fields/,
    ],
    [
      'a bad destination reference',
      { [specKeys.destination]: 'backup:data' },
      /destination\]: "backup:data" is not a PVC reference: use CONTEXT\/NAMESPACE\/PVC/,
    ],
    [
      'an unknown key under the prefix',
      { 'scribe.backube.io/shedule': '0 * * * *' },
      /scribe\.backube\.io\/shedule\]: unknown Scribe annotation; valid keys are/,
    ],
    [
      'an unknown status value written by a user',
      { [statusKeys.lastSyncResult]: 'Done' },
      /last-sync-result\]: "Done" is not a sync result: Running, Succeeded or Failed/,
    ],
    [
      'a bad endpoint',
      { [specKeys.endpoint]: 'backup.example.net' },
      /endpoint\]: "backup.example.net" is not an endpoint: use HOST:PORT/,
    ],
    [
      'a per-target key with a malformed target name',
      { 'scribe.backube.io/destination.Lake_1': 'lake/bi/data' },
      /\[scribe\.backube\.io\/destination\.Lake_1\]: "Lake_1" is not a target name: use a DNS-1123 label/,
    ],
    [
      'a second target without its key Secret and volume mode',
      { 'scribe.backube.io/destination.lake': 'lake/bi/data' },
      /\[scribe\.backube\.io\/secret\.lake\]: missing: a source needs the name of the key Secret for target "lake"/,
    ],
    [
      'a target name too long for its keys',
      { [`scribe.backube.io/destination.${'t'.repeat(42)}`]: 'lake/bi/data' },
      /is 42 characters: at most 41, so that every per-target key/,
    ],
    [
      'a per-source key given a target suffix',
      { 'scribe.backube.io/method.lake': 'clone' },
      /\[scribe\.backube\.io\/method\.lake\]: scribe\.backube\.io\/method is one per PVC, not per target/,
    ],
    [
      'a malformed status value of a target',
      { 'status.scribe.backube.io/last-sync-result.lake': 'Done' },
      /\[status\.scribe\.backube\.io\/last-sync-result\.lake\]: "Done" is not a sync result/,
    ],
  ];
  for (const [what, extra, message] of malformed) {
    it(`rejects ${what}`, () => {
      const v = verdict(FS_CREATE, { extra });
      expect(v.reason).toBe('invalid-spec');
      expect(v.decision).toMatchObject({ allowed: false, code: 422 });
      expect((v.decision as { message: string }).message).toMatch(message);
    });
  }

  it('rejects an UPDATE that changes the recorded destination mode while enabled', () => {
    const review = scribeShaped(
      '0068-validate-PersistentVolumeClaim-UPDATE--pvc-update-kubectl-annotate-during-watch.json',
    );
    review.request.object!.metadata!.annotations![specKeys.volumeMode] = 'Filesystem';
    const v = validateClaim(review.request);
    expect(v.decision.allowed).toBe(false);
    expect((v.decision as { message: string }).message).toMatch(
      /cannot change from Block to Filesystem while replication is enabled/,
    );
  });

  it("rejects an UPDATE that changes the claim's volume mode while enabled", () => {
    const review = scribeShaped(
      '0012-validate-PersistentVolumeClaim-UPDATE--pvc-update-kubectl-label.json',
    );
    (review.request.object as { spec: { volumeMode: string } }).spec.volumeMode = 'Block';
    const v = validateClaim(review.request);
    expect(v.decision.allowed).toBe(false);
    expect((v.decision as { message: string }).message).toMatch(
      /^spec\.volumeMode: cannot change from Filesystem to Block while replication is enabled/,
    );
  });

  it('rejects live on a claim that is not single-writer only when the spec asks, and says why', () => {
    const rwx = (shape: Shape) => {
      const r = scribeShaped(FS_CREATE, shape);
      (r.request.object as { spec: { accessModes: string[] } }).spec.accessModes = [
        'ReadWriteOnce',
        'ReadWriteMany',
      ];
      return validateClaim(r.request);
    };
    const strict = rwx({
      extra: { [specKeys.method]: 'live', [specKeys.liveRequiresRwo]: 'true' },
    });
    expect(strict.reason).toBe('live-requires-rwo');
    expect(strict.decision).toMatchObject({ allowed: false, code: 403 });
    expect((strict.decision as { message: string }).message).toMatch(
      /access modes are ReadWriteOnce, ReadWriteMany, not ReadWriteOnce or ReadWriteOncePod only/,
    );
    const lax = rwx({ extra: { [specKeys.method]: 'live' } });
    expect(lax.decision.allowed).toBe(true);
    expect(lax.decision.warnings?.join('\n')).toMatch(/several pods/);
    // On a ReadWriteOnce claim the same strict spec passes.
    expect(
      verdict(FS_CREATE, {
        extra: { [specKeys.method]: 'live', [specKeys.liveRequiresRwo]: 'true' },
      }).decision.allowed,
    ).toBe(true);
  });

  const lake = {
    'scribe.backube.io/destination.lake': 'lake/bi/data',
    'scribe.backube.io/secret.lake': 'scribe-source-data-lake',
    'scribe.backube.io/endpoint.lake': '10.9.0.1:2222',
    'scribe.backube.io/schedule.lake': '@hourly',
  };

  it('allows a source with a second, complete target', () => {
    const v = verdict(FS_CREATE, {
      extra: { ...lake, 'scribe.backube.io/volume-mode.lake': 'Filesystem' },
    });
    expect(v.decision).toEqual({ allowed: true, warnings: [] });
  });

  it('checks the volume mode of every target, naming its annotation', () => {
    const v = verdict(FS_CREATE, {
      extra: { ...lake, 'scribe.backube.io/volume-mode.lake': 'Block' },
    });
    expect(v.reason).toBe('volume-mode');
    expect((v.decision as { message: string }).message).toBe(
      "metadata.annotations[scribe.backube.io/volume-mode.lake]: the source volume mode is Filesystem but the destination's is Block: Scribe replicates only between PVCs of the same volume mode (access modes, StorageClasses and drivers may differ)",
    );
  });

  it("rejects an UPDATE that changes a target's recorded destination mode", () => {
    const review = scribeShaped(
      '0012-validate-PersistentVolumeClaim-UPDATE--pvc-update-kubectl-label.json',
      {
        method: 'snapshot',
        extra: { ...lake, 'scribe.backube.io/volume-mode.lake': 'Filesystem' },
      },
    );
    review.request.oldObject!.metadata!.annotations = {
      ...review.request.object!.metadata!.annotations,
    };
    review.request.object!.metadata!.annotations!['scribe.backube.io/volume-mode.lake'] = 'Block';
    const v = validateClaim(review.request);
    expect(v.decision.allowed).toBe(false);
    expect((v.decision as { message: string }).message).toMatch(
      /^metadata\.annotations\[scribe\.backube\.io\/volume-mode\.lake\]: cannot change from Filesystem to Block while replication is enabled/,
    );
  });

  it('rejects live with several targets, and warns for each target without an endpoint', () => {
    const live = verdict(FS_CREATE, {
      extra: {
        ...lake,
        'scribe.backube.io/volume-mode.lake': 'Filesystem',
        [specKeys.method]: 'live',
      },
    });
    expect(live.reason).toBe('invalid-spec');
    expect((live.decision as { message: string }).message).toContain(
      'metadata.annotations[scribe.backube.io/method]: "live" replicates to one destination, but this PVC has 2 targets (default, lake)',
    );
    const { ['scribe.backube.io/endpoint.lake']: gone, ...noEndpoint } = lake;
    const v = verdict(FS_CREATE, {
      extra: { ...noEndpoint, 'scribe.backube.io/volume-mode.lake': 'Filesystem' },
    });
    expect(gone).toBeDefined();
    expect(v.decision).toEqual({
      allowed: true,
      warnings: [
        'scribe: no scribe.backube.io/endpoint.lake yet: syncs to target "lake" wait until the destination\'s mover endpoint is recorded',
      ],
    });
  });

  it('answers a dry run exactly as the real request', () => {
    const dry = scribeShaped(
      '0020-validate-PersistentVolumeClaim-CREATE--pvc-create-dry-run-server.json',
      { extra: { [specKeys.schedule]: 'nope' } },
    );
    expect(dry.request.dryRun).toBe(true);
    const real = structuredClone(dry);
    real.request.dryRun = false;
    expect(validateClaim(dry.request)).toEqual(validateClaim(real.request));
    expect(validateClaim(dry.request).decision.allowed).toBe(false);
  });

  it('turns a denial into the AdmissionReview the apiserver reads: uid echoed, status code and message', () => {
    const review = scribeShaped(FS_CREATE, { extra: { [specKeys.paused]: 'maybe' } });
    const out = toReview(review.request.uid, validateClaim(review.request).decision);
    expect(out).toEqual({
      apiVersion: 'admission.k8s.io/v1',
      kind: 'AdmissionReview',
      response: {
        uid: admissionFixture(FS_CREATE).request.uid,
        allowed: false,
        status: {
          code: 422,
          message: `invalid replication spec: metadata.annotations[${specKeys.paused}]: "maybe" is not a boolean: use "true" or "false"`,
        },
      },
    });
  });
});

describe("a destination's read-only copy at admission", () => {
  const destination = (extra: Record<string, string>) => {
    const review = admissionFixture(FS_CREATE);
    (
      review.request.object as { metadata: { annotations: Record<string, string> } }
    ).metadata.annotations = {
      [specKeys.replication]: 'destination',
      [specKeys.source]: 'prod/apps/data',
      [specKeys.secret]: 'scribe-keys',
      [specKeys.readOnlyCopy]: 'data-ro',
      ...extra,
    };
    return validateClaim(review.request);
  };

  it('allows a copy with a scrub step given as a JSON argv', () => {
    const v = destination({
      [specKeys.scrubImage]: 'registry.example.com/scrub:1',
      [specKeys.scrubCommand]: '["/scrub", "--table", "users"]',
      [specKeys.scrubTimeout]: '20m',
    });
    expect(v.decision.allowed).toBe(true);
  });

  it('rejects a shell line as the scrub command, naming the annotation and the form', () => {
    const v = destination({
      [specKeys.scrubImage]: 'registry.example.com/scrub:1',
      [specKeys.scrubCommand]: 'rm -rf /data/pii; curl evil',
    });
    expect(v.decision).toMatchObject({ allowed: false, code: 422 });
    const message = (v.decision as { message: string }).message;
    expect(message).toContain(`metadata.annotations[${specKeys.scrubCommand}]`);
    expect(message).toContain('use a JSON array of strings');
  });
});
