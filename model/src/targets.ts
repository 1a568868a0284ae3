// Fan-out: one source PVC replicating to several destinations ("targets"),
// each with its own destination, keys, schedule and status. The unsuffixed
// keys are the default target, so a PVC written before fan-out means what it
// meant; every further target repeats the per-target keys with the suffix
// `.TARGET` (e.g. `scribe.backube.io/destination.analytics`). The method, and
// so the kind of point-in-time copy, stays one per source.
import { destinationStatusKeys, specKeys, specPrefix, statusKeys, statusPrefix } from './keys.ts';
import { isDnsLabel, type Parsed, type PvcRef, type Trigger, type VolumeMode } from './values.ts';

/** The target the unsuffixed keys describe. */
export const defaultTarget = 'default';

/** Spec keys that each target carries on its own (suffixed for all but the default). */
export const perTargetSpecKeys: readonly string[] = [
  specKeys.destination,
  specKeys.endpoint,
  specKeys.secret,
  specKeys.volumeMode,
  specKeys.schedule,
  specKeys.paused,
  specKeys.syncRequested,
  specKeys.checksumEvery,
];

/** Kubernetes limits the name part of an annotation key (after the prefix) to 63 characters. */
export const maxAnnotationNameLength = 63;

const nameOf = (key: string) => key.slice(key.indexOf('/') + 1);
const longestPerTargetKey = [
  ...perTargetSpecKeys,
  ...Object.values(statusKeys).filter((k) => !destinationStatusKeys.includes(k)),
].reduce((a, b) => (nameOf(b).length > nameOf(a).length ? b : a));
const longestPerTargetName = nameOf(longestPerTargetKey).length;
/** So that every per-target key, `NAME.TARGET`, stays within 63 characters. */
export const maxTargetNameLength = maxAnnotationNameLength - longestPerTargetName - 1;

/** What one target replicates to, and when. */
export interface TargetSpec {
  name: string;
  destination: PvcRef;
  /** HOST:PORT of the destination's mover; absent until the endpoint is up. */
  endpoint?: string;
  /** The Secret (same namespace as the source) with this target's keys. */
  secret: string;
  /** The destination's volume mode, recorded when the target was enabled. */
  destinationVolumeMode: VolumeMode;
  trigger: Trigger;
  paused: boolean;
  syncRequested?: string;
  /** Every Nth sync compares file contents (rsync --checksum); 0 never. */
  checksumEvery: number;
}

/** A target name: a DNS-1123 label short enough for every per-target key, not `default`. */
export function parseTargetName(v: string): Parsed<string> {
  if (v === defaultTarget) {
    return {
      ok: false,
      message: `"${defaultTarget}" names the target of the unsuffixed keys: choose another target name`,
    };
  }
  if (!isDnsLabel(v)) {
    return {
      ok: false,
      message: `"${v}" is not a target name: use a DNS-1123 label (lower-case letters, digits and "-"), e.g. "analytics"`,
    };
  }
  if (v.length > maxTargetNameLength) {
    return {
      ok: false,
      message:
        `target name "${v}" is ${v.length} characters: at most ${maxTargetNameLength}, so that every per-target key ` +
        `(the longest is ${longestPerTargetKey}.TARGET) stays within Kubernetes' ${maxAnnotationNameLength}-character limit for an annotation name`,
    };
  }
  return { ok: true, value: v };
}

/** The key `key` has for `target`: unsuffixed for the default target. */
export function targetKey(key: string, target: string): string {
  return target === defaultTarget ? key : `${key}.${target}`;
}

/**
 * A key with a target suffix split into its base key and the suffix, or
 * undefined when the name part has no dot. Says nothing about validity.
 */
export function splitTargetKey(key: string): { base: string; target: string } | undefined {
  const prefix = key.startsWith(statusPrefix)
    ? statusPrefix
    : key.startsWith(specPrefix)
      ? specPrefix
      : undefined;
  if (!prefix) return undefined;
  const name = key.slice(prefix.length);
  const dot = name.indexOf('.');
  if (dot <= 0) return undefined;
  return { base: prefix + name.slice(0, dot), target: name.slice(dot + 1) };
}

/**
 * Why an annotation key for a target cannot be used, or undefined when it can:
 * a malformed target name, or a name part over 63 characters.
 */
export function targetKeyProblem(key: string, target: string): string | undefined {
  const t = parseTargetName(target);
  if (!t.ok) return t.message;
  const length = nameOf(key).length;
  if (length > maxAnnotationNameLength) {
    return `the key's name part is ${length} characters, Kubernetes allows ${maxAnnotationNameLength}: use a target name of at most ${maxTargetNameLength} characters`;
  }
  return undefined;
}
