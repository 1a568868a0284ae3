// `enable pvc NAME --to [TARGET=]CONTEXT[/NS[/PVC]] ...`: which target each
// --to sets up, under which name and on which schedule. Pure.
//
// The first destination of a PVC is its default target (the unsuffixed keys);
// a destination the PVC already replicates to keeps its target, so running
// enable again changes nothing; a new one is named by `TARGET=` or, without
// it, after its context.
import {
  defaultTarget,
  maxTargetNameLength,
  parseTargetName,
  renderPvcRef,
  sourceTargets,
  type PvcRef,
  type SourceSpec,
} from '../../../model/src/index.ts';
import { parseTo } from './enable.ts';

export interface TargetChoice {
  name: string;
  ref: PvcRef;
  schedule: string;
  /** The source already replicates there under this name. */
  existing: boolean;
}

/** A context name made into a target name: a DNS label of at most the allowed length. */
export function targetNameFromContext(context: string): string {
  const label = context
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/^-+/, '')
    .slice(0, maxTargetNameLength)
    .replace(/-+$/, '');
  return label === '' || label === defaultTarget ? 'target' : label;
}

export function scheduleCountMessage(schedules: number, tos: number): string {
  return `${schedules} --schedule flags for ${tos} --to flags: give one --schedule for all destinations, or one per --to in the same order`;
}

export function planTargets(
  current: SourceSpec | undefined,
  tos: readonly string[],
  schedules: readonly string[],
  source: { namespace: string; name: string },
): { ok: true; targets: TargetChoice[] } | { ok: false; message: string } {
  if (tos.length === 0) return { ok: false, message: 'at least one --to is required' };
  if (schedules.length > 1 && schedules.length !== tos.length) {
    return { ok: false, message: scheduleCountMessage(schedules.length, tos.length) };
  }
  const existing = current ? sourceTargets(current) : [];
  const taken = new Map(existing.map((t) => [t.name, renderPvcRef(t.destination)]));
  const out: TargetChoice[] = [];
  for (const [i, to] of tos.entries()) {
    const eq = to.indexOf('=');
    const given = eq >= 0 ? to.slice(0, eq) : undefined;
    const parsed = parseTo(eq >= 0 ? to.slice(eq + 1) : to, source);
    if (!parsed.ok) return parsed;
    const ref = renderPvcRef(parsed.ref);
    if (out.some((t) => renderPvcRef(t.ref) === ref)) {
      return { ok: false, message: `--to ${ref} is given twice: each destination once` };
    }
    if (given !== undefined && given !== defaultTarget) {
      const valid = parseTargetName(given);
      if (!valid.ok) return { ok: false, message: `invalid --to "${to}": ${valid.message}` };
    }
    const same = existing.find((t) => renderPvcRef(t.destination) === ref);
    let name: string;
    if (same) {
      if (given !== undefined && given !== same.name) {
        return {
          ok: false,
          message: `${ref} is already target "${same.name}" of this PVC: use --to ${same.name}=${to.slice(eq + 1)}, or disable that target first`,
        };
      }
      name = same.name;
    } else if (taken.size === 0) {
      // The PVC's first destination is its default target.
      if (given !== undefined && given !== defaultTarget) {
        return {
          ok: false,
          message: `the first destination of a PVC is its default target: drop "${given}=" from --to "${to}" (later destinations may be named)`,
        };
      }
      name = defaultTarget;
    } else {
      name = given ?? targetNameFromContext(parsed.ref.context);
      const holder = taken.get(name);
      if (holder !== undefined) {
        return {
          ok: false,
          message:
            `target "${name}" of this PVC already replicates to ${holder}: ` +
            `name the new destination, e.g. --to ${name === defaultTarget ? 'second' : `${name}-2`}=${parsed.ref.context}/${parsed.ref.namespace}/${parsed.ref.name}`,
        };
      }
    }
    taken.set(name, ref);
    out.push({
      name,
      ref: parsed.ref,
      schedule: schedules[schedules.length > 1 ? i : 0] ?? '*/15 * * * *',
      existing: same !== undefined,
    });
  }
  return { ok: true, targets: out };
}
