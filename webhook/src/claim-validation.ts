import type { V1PersistentVolumeClaim } from '@kubernetes/client-node';
import {
  defaultTarget,
  describeProblems,
  findTarget,
  isForeignMethod,
  isScribeKey,
  isSingleWriter,
  knownMethod,
  sourceTargets,
  specKeys,
  targetKey,
  volumeModeMismatch,
  volumeModeOf,
} from '../../model/src/index.ts';
import type { AdmissionDecision, AdmissionRequest } from './admission-review.ts';
import { parseSpecMemo as parseSpec } from './spec-memo.ts';

// "May this claim carry this spec?": a pure function of the request. Every
// reading of an annotation goes through the model.

export interface ClaimVerdict {
  decision: AdmissionDecision;
  // Metrics label for a denial.
  reason?: 'invalid-spec' | 'volume-mode' | 'live-requires-rwo';
}

const allowWith = (warnings: string[]): ClaimVerdict => ({ decision: { allowed: true, warnings } });

function denied(
  reason: NonNullable<ClaimVerdict['reason']>,
  code: number,
  message: string,
  warnings: string[] = [],
): ClaimVerdict {
  return { decision: { allowed: false, code, message, warnings }, reason };
}

function scribeAnnotations(pvc: V1PersistentVolumeClaim | null): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(pvc?.metadata?.annotations ?? {}))
    if (isScribeKey(k)) out[k] = v;
  return out;
}

function sameAnnotations(a: Record<string, string>, b: Record<string, string>): boolean {
  const ka = Object.keys(a);
  return ka.length === Object.keys(b).length && ka.every((k) => a[k] === b[k]);
}

export function validateClaim(req: AdmissionRequest): ClaimVerdict {
  if (req.kind.kind !== 'PersistentVolumeClaim' || req.kind.group !== '') return allowWith([]);
  if (req.operation !== 'CREATE' && req.operation !== 'UPDATE') return allowWith([]);
  if (req.subResource) return allowWith([]); // status updates carry the spec unchanged
  const pvc = req.object as V1PersistentVolumeClaim | null;
  const old = req.operation === 'UPDATE' ? (req.oldObject as V1PersistentVolumeClaim | null) : null;
  if (!pvc) return allowWith([]);

  const now = scribeAnnotations(pvc);
  const before = scribeAnnotations(old);
  const parsed = parseSpec(now);
  if (!parsed.enabled) return allowWith([]);
  // A write that leaves Scribe's annotations as they were (a label, the
  // pvc-protection controller removing its finalizer) is never held up, even
  // under a spec that is wrong: deleting a claim must always work.
  const untouched = old !== null && sameAnnotations(now, before);
  if (parsed.problems.length > 0) {
    const message = `invalid replication spec: ${describeProblems(parsed.problems)}`;
    if (untouched) return allowWith([`scribe: ${message}`]);
    return denied('invalid-spec', 422, message);
  }
  const spec = parsed.spec;
  if (!spec) return allowWith([]);
  const warnings: string[] = [];

  if (spec.role === 'source') {
    const sourceMode = volumeModeOf(pvc);
    if (old) {
      const oldMode = volumeModeOf(old);
      if (oldMode !== sourceMode) {
        return denied(
          'volume-mode',
          422,
          `spec.volumeMode: cannot change from ${oldMode} to ${sourceMode} while replication is enabled (${specKeys.replication}); disable replication first`,
        );
      }
      const previous = parseSpec(before).spec;
      for (const t of previous?.role === 'source' ? sourceTargets(previous) : []) {
        const now = findTarget(spec, t.name);
        if (!now || now.destinationVolumeMode === t.destinationVolumeMode) continue;
        return denied(
          'volume-mode',
          422,
          `metadata.annotations[${targetKey(specKeys.volumeMode, t.name)}]: cannot change from ${t.destinationVolumeMode} to ${now.destinationVolumeMode} while replication is enabled: it records the destination's volume mode; disable and enable replication again to change the destination`,
        );
      }
    }
    // Every target's destination must have the source's volume mode.
    for (const t of sourceTargets(spec)) {
      const mismatch = volumeModeMismatch(sourceMode, t.destinationVolumeMode);
      if (mismatch) {
        return denied(
          'volume-mode',
          422,
          `metadata.annotations[${targetKey(specKeys.volumeMode, t.name)}]: ${mismatch}`,
        );
      }
    }

    if (isForeignMethod(spec)) {
      warnings.push(
        `scribe: method "${spec.method}" is not one of Scribe's (live, snapshot, clone); Scribe leaves this claim to the operator that provides it`,
      );
      return allowWith(warnings);
    }
    if (spec.method === 'live') {
      const singleWriter = isSingleWriter(pvc);
      if (spec.liveRequiresRwo && !singleWriter) {
        const modes = (pvc.spec?.accessModes ?? []).join(', ') || 'none';
        return denied(
          'live-requires-rwo',
          403,
          `method "live" is refused on this claim: ${specKeys.liveRequiresRwo} is "true" and its access modes are ${modes}, not ReadWriteOnce or ReadWriteOncePod only; with several writers on several nodes the live copy sees only one pod's side. Use method "snapshot" or "clone", or set ${specKeys.liveRequiresRwo} to "false"`,
        );
      }
      warnings.push(
        `scribe: method "live" copies the volume while the application writes to it: the copy is not crash-consistent (${knownMethod('live')?.summary ?? ''}); prefer "clone" or "snapshot" where the storage supports them`,
      );
      if (!singleWriter) {
        warnings.push(
          'scribe: this claim can be mounted by several pods; each one gets a live-copy sidecar and they all send to the same destination',
        );
      }
      if (spec.trigger.kind === 'manual') {
        warnings.push('scribe: with schedule "manual" a live copy syncs only when the pod starts');
      }
    }
    for (const t of sourceTargets(spec)) {
      if (t.endpoint) continue;
      warnings.push(
        `scribe: no ${targetKey(specKeys.endpoint, t.name)} yet: syncs${t.name === defaultTarget ? '' : ` to target "${t.name}"`} wait until the destination's mover endpoint is recorded`,
      );
    }
  }
  return allowWith(warnings);
}
