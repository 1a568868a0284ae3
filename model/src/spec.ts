// The replication spec: what the annotations on a PVC say, parsed and
// validated in one place, and rendered back for the plugin to write.
import { destinationOnlyKeys, sourceOnlyKeys, specKeys, specPrefix, statusPrefix } from './keys.ts';
import { knownMethod } from './methods.ts';
import {
  annotationReader,
  parseBool,
  parseCount,
  parseEndpoint,
  parseMethodName,
  parsePvcRef,
  parseTime,
  parseTrigger,
  parseVolumeMode,
  renderPvcRef,
  isDnsSubdomain,
  type Parsed,
  type PvcRef,
} from './values.ts';
import { statusProblems } from './status.ts';
import { readOnlyCopyFrom, renderReadOnlyCopy, type ReadOnlyCopySpec } from './read-only-copy.ts';
import {
  defaultTarget,
  parseTargetName,
  perTargetSpecKeys,
  splitTargetKey,
  targetKey,
  targetKeyProblem,
  type TargetSpec,
} from './targets.ts';
import { parseQuiesce, renderQuiesce, type QuiesceSpec } from './quiesce.ts';

/** A source: its default target's fields (the unsuffixed keys), and what is the PVC's. */
export interface SourceSpec extends Omit<TargetSpec, 'name'> {
  role: 'source';
  /** `live`, `snapshot`, `clone`, or a vendor's method that Scribe leaves alone. */
  method: string;
  liveRequiresRwo: boolean;
  /**
   * Named targets beyond the default one (the fields above), each from the
   * keys suffixed `.NAME`; absent when the source has only the default.
   */
  extraTargets?: TargetSpec[];
  /** Application-consistent copies: the hook run around each point-in-time copy. */
  quiesce?: QuiesceSpec;
}

export interface DestinationSpec {
  role: 'destination';
  source: PvcRef;
  secret: string;
  snapshotsToKeep: number;
  /** How the source reaches this destination's mover endpoint. */
  serviceType: ServiceType;
  /** A read-only copy of the newest snapshot for others to mount (read-only-copy.ts). */
  readOnlyCopy?: ReadOnlyCopySpec;
  /** Which target of a fan-out source this destination is; absent for the default one. */
  sourceTarget?: string;
}

export type ServiceType = 'ClusterIP' | 'LoadBalancer' | 'NodePort';

export type ReplicationSpec = SourceSpec | DestinationSpec;

/** One thing wrong with one annotation, in words a user can act on. */
export interface SpecProblem {
  annotation: string;
  message: string;
}

export interface ParsedSpec {
  /** True when any Scribe spec annotation is present. */
  enabled: boolean;
  spec?: ReplicationSpec;
  problems: SpecProblem[];
}

export const defaultSnapshotsToKeep = 3;
export const defaultChecksumEvery = 10;

const allSpecKeys: readonly string[] = Object.values(specKeys);

/**
 * Parses and validates the Scribe annotations of a PVC. Pure. A malformed
 * status value is a problem too, but does not void an otherwise valid spec.
 */
export function parseSpec(annotations: Record<string, string> | undefined): ParsedSpec {
  const a = annotations ?? {};
  const parsed = parseSpecKeys(a);
  parsed.problems.push(...statusProblems(a));
  if (!parsed.enabled && Object.keys(a).some((k) => k.startsWith(statusPrefix))) {
    parsed.enabled = true;
  }
  return parsed;
}

function parseSpecKeys(a: Record<string, string>): ParsedSpec {
  const problems: SpecProblem[] = [];
  const present = Object.keys(a).filter((k) => k.startsWith(specPrefix));
  if (present.length === 0) return { enabled: false, problems };

  // Keys with a target suffix name the targets beyond the default one.
  const targetNames = new Set<string>();
  for (const k of present) {
    if (allSpecKeys.includes(k)) continue;
    const split = splitTargetKey(k);
    if (split && perTargetSpecKeys.includes(split.base)) {
      const why = targetKeyProblem(k, split.target);
      if (why) problems.push({ annotation: k, message: why });
      else targetNames.add(split.target);
    } else if (split && allSpecKeys.includes(split.base)) {
      problems.push({
        annotation: k,
        message: `${split.base} is one per PVC, not per target: remove the ".${split.target}" suffix (per-target keys are ${perTargetSpecKeys.map((x) => x.slice(specPrefix.length)).join(', ')})`,
      });
    } else {
      problems.push({
        annotation: k,
        message: `unknown Scribe annotation; valid keys are ${allSpecKeys.join(', ')}, and ${perTargetSpecKeys.map((x) => x.slice(specPrefix.length)).join(', ')} suffixed with .TARGET`,
      });
    }
  }
  const role = a[specKeys.replication];
  if (role !== 'source' && role !== 'destination') {
    problems.push({
      annotation: specKeys.replication,
      message:
        role === undefined
          ? 'missing: set it to "source" or "destination" (or remove every scribe.backube.io/ annotation)'
          : `"${role}" is not a role: use "source" or "destination"`,
    });
    return { enabled: true, problems };
  }

  const take = annotationReader(a, problems);
  const need = <T>(key: string, parse: (v: string) => Parsed<T>, what: string): T | undefined => {
    if (a[key] === undefined) {
      problems.push({ annotation: key, message: `missing: a ${role} needs ${what}` });
      return undefined;
    }
    return take(key, parse);
  };
  const secretName = (v: string): Parsed<string> =>
    isDnsSubdomain(v)
      ? { ok: true, value: v }
      : { ok: false, message: `"${v}" is not a valid Secret name (a DNS-1123 subdomain)` };

  const misplaced = role === 'source' ? destinationOnlyKeys : sourceOnlyKeys;
  for (const k of misplaced) {
    if (a[k] !== undefined) {
      problems.push({
        annotation: k,
        message: `only a ${role === 'source' ? 'destination' : 'source'} PVC may carry it; this PVC is a ${role}`,
      });
    }
  }
  if (role === 'destination') {
    for (const t of targetNames) {
      for (const base of perTargetSpecKeys) {
        const k = targetKey(base, t);
        if (a[k] === undefined) continue;
        problems.push({
          annotation: k,
          message: `only a source PVC may carry per-target keys; this PVC is a destination`,
        });
      }
    }
  }

  const secret = need(specKeys.secret, secretName, 'the name of its key Secret');
  if (role === 'destination') {
    const source = need(specKeys.source, parsePvcRef, 'its source as CONTEXT/NAMESPACE/PVC');
    const keep =
      take(specKeys.snapshotsToKeep, (v) => parseCount(v, 1, 100)) ?? defaultSnapshotsToKeep;
    const serviceType = take(specKeys.serviceType, parseServiceType) ?? 'LoadBalancer';
    const readOnlyCopy = readOnlyCopyFrom(a, problems);
    const sourceTarget = take(specKeys.sourceTarget, parseTargetName);
    if (problems.length > 0 || !source || !secret) return { enabled: true, problems };
    return {
      enabled: true,
      spec: {
        role,
        source,
        secret,
        snapshotsToKeep: keep,
        serviceType,
        ...(readOnlyCopy ? { readOnlyCopy } : {}),
        ...(sourceTarget !== undefined ? { sourceTarget } : {}),
      },
      problems,
    };
  }

  const method = need(specKeys.method, parseMethodName, 'a method (live, snapshot or clone)');
  const liveRequiresRwo = take(specKeys.liveRequiresRwo, parseBool) ?? false;
  const parseTarget = (name: string): TargetSpec | undefined => {
    const key = (k: string) => targetKey(k, name);
    const whose = name === defaultTarget ? '' : ` for target "${name}"`;
    const destination = need(
      key(specKeys.destination),
      parsePvcRef,
      `its destination${whose} as CONTEXT/NAMESPACE/PVC`,
    );
    const endpoint = take(key(specKeys.endpoint), parseEndpoint);
    const tSecret =
      name === defaultTarget
        ? secret
        : need(key(specKeys.secret), secretName, `the name of the key Secret${whose}`);
    const destinationVolumeMode = need(
      key(specKeys.volumeMode),
      parseVolumeMode,
      `the destination's volume mode${whose}`,
    );
    const trigger = take(key(specKeys.schedule), parseTrigger) ?? { kind: 'manual' as const };
    const paused = take(key(specKeys.paused), parseBool) ?? false;
    const syncRequested = take(key(specKeys.syncRequested), parseTime);
    const checksumEvery =
      take(key(specKeys.checksumEvery), (v) => parseCount(v, 0, 10000)) ?? defaultChecksumEvery;
    if (!destination || !tSecret || !destinationVolumeMode) return undefined;
    return {
      name,
      destination,
      ...(endpoint !== undefined ? { endpoint } : {}),
      secret: tSecret,
      destinationVolumeMode,
      trigger,
      paused,
      ...(syncRequested !== undefined ? { syncRequested } : {}),
      checksumEvery,
    };
  };
  const hook = parseQuiesce(a, method);
  problems.push(...hook.problems);
  const first = parseTarget(defaultTarget);
  const extraTargets = [...targetNames].sort().map(parseTarget);
  targetProblems(
    method,
    [first, ...extraTargets].filter((t) => t !== undefined),
    problems,
  );
  if (problems.length > 0 || !method || !first || extraTargets.some((t) => !t)) {
    return { enabled: true, problems };
  }
  return {
    enabled: true,
    spec: {
      role,
      method,
      ...targetFields(first),
      liveRequiresRwo,
      ...(extraTargets.length ? { extraTargets: extraTargets as TargetSpec[] } : {}),
      ...(hook.quiesce ? { quiesce: hook.quiesce } : {}),
    },
    problems,
  };
}

/** Rules across targets: distinct destinations; a live copy has exactly one. */
function targetProblems(
  method: string | undefined,
  targets: readonly TargetSpec[],
  problems: SpecProblem[],
): void {
  const seen = new Map<string, string>();
  for (const t of targets) {
    const ref = renderPvcRef(t.destination);
    const other = seen.get(ref);
    if (other !== undefined) {
      problems.push({
        annotation: targetKey(specKeys.destination, t.name),
        message: `"${ref}" is already the destination of target "${other}": each target needs its own destination PVC`,
      });
    } else seen.set(ref, t.name);
  }
  if (method === 'live' && targets.length > 1) {
    problems.push({
      annotation: specKeys.method,
      message: `"live" replicates to one destination, but this PVC has ${targets.length} targets (${targets.map((t) => t.name).join(', ')}): use "snapshot" or "clone" to replicate to several, or remove the extra targets`,
    });
  }
}

function parseServiceType(v: string): Parsed<ServiceType> {
  return v === 'ClusterIP' || v === 'LoadBalancer' || v === 'NodePort'
    ? { ok: true, value: v }
    : {
        ok: false,
        message: `"${v}" is not a Service type: use ClusterIP, LoadBalancer or NodePort`,
      };
}

/** True when the method is one a vendor's operator handles, not Scribe. */
export function isForeignMethod(spec: ReplicationSpec): boolean {
  return spec.role === 'source' && knownMethod(spec.method) === undefined;
}

/** The annotations that express `spec` (spec keys only). */
export function renderSpec(spec: ReplicationSpec): Record<string, string> {
  if (spec.role === 'destination') {
    return {
      [specKeys.replication]: 'destination',
      [specKeys.source]: renderPvcRef(spec.source),
      [specKeys.secret]: spec.secret,
      [specKeys.snapshotsToKeep]: String(spec.snapshotsToKeep),
      [specKeys.serviceType]: spec.serviceType,
      ...renderReadOnlyCopy(spec.readOnlyCopy),
      ...(spec.sourceTarget !== undefined ? { [specKeys.sourceTarget]: spec.sourceTarget } : {}),
    };
  }
  const out: Record<string, string> = {
    [specKeys.replication]: 'source',
    [specKeys.method]: spec.method,
    [specKeys.liveRequiresRwo]: String(spec.liveRequiresRwo),
  };
  for (const t of sourceTargets(spec)) {
    const key = (k: string) => targetKey(k, t.name);
    out[key(specKeys.destination)] = renderPvcRef(t.destination);
    out[key(specKeys.secret)] = t.secret;
    out[key(specKeys.volumeMode)] = t.destinationVolumeMode;
    out[key(specKeys.schedule)] = t.trigger.kind === 'manual' ? 'manual' : t.trigger.cron;
    out[key(specKeys.paused)] = String(t.paused);
    out[key(specKeys.checksumEvery)] = String(t.checksumEvery);
    if (t.endpoint !== undefined) out[key(specKeys.endpoint)] = t.endpoint;
    if (t.syncRequested !== undefined) out[key(specKeys.syncRequested)] = t.syncRequested;
  }
  if (spec.quiesce) Object.assign(out, renderQuiesce(spec.quiesce));
  return out;
}

/** Every target of a source, the default first. */
export function sourceTargets(spec: SourceSpec): TargetSpec[] {
  const first: TargetSpec = {
    name: defaultTarget,
    destination: spec.destination,
    ...(spec.endpoint !== undefined ? { endpoint: spec.endpoint } : {}),
    secret: spec.secret,
    destinationVolumeMode: spec.destinationVolumeMode,
    trigger: spec.trigger,
    paused: spec.paused,
    ...(spec.syncRequested !== undefined ? { syncRequested: spec.syncRequested } : {}),
    checksumEvery: spec.checksumEvery,
  };
  return [first, ...(spec.extraTargets ?? [])];
}

/** One target of a source by name, or undefined. */
export function findTarget(spec: SourceSpec, name: string): TargetSpec | undefined {
  return sourceTargets(spec).find((t) => t.name === name);
}

/**
 * The source as one target sees it: that target's fields in the default
 * place, no others. What the single-destination decisions take.
 */
export function specForTarget(spec: SourceSpec, target: TargetSpec): SourceSpec {
  return {
    role: 'source',
    method: spec.method,
    ...targetFields(target),
    liveRequiresRwo: spec.liveRequiresRwo,
    ...(spec.quiesce ? { quiesce: spec.quiesce } : {}),
  };
}

/** A target's fields as they sit in a SourceSpec (no name). */
function targetFields(t: TargetSpec): Omit<TargetSpec, 'name'> {
  return {
    destination: t.destination,
    ...(t.endpoint !== undefined ? { endpoint: t.endpoint } : {}),
    secret: t.secret,
    destinationVolumeMode: t.destinationVolumeMode,
    trigger: t.trigger,
    paused: t.paused,
    ...(t.syncRequested !== undefined ? { syncRequested: t.syncRequested } : {}),
    checksumEvery: t.checksumEvery,
  };
}

/** The source with `target` set (added, or replacing the one of that name). */
export function withTarget(spec: SourceSpec, target: TargetSpec): SourceSpec {
  if (target.name === defaultTarget) {
    return { ...specForTarget(spec, target), ...extrasOf(spec.extraTargets ?? []) };
  }
  const others = (spec.extraTargets ?? []).filter((t) => t.name !== target.name);
  return {
    ...spec,
    ...extrasOf([...others, target].sort((a, b) => a.name.localeCompare(b.name))),
  };
}

/** The source without the named extra target (the default cannot be removed this way). */
export function withoutTarget(spec: SourceSpec, name: string): SourceSpec {
  return {
    ...specForTarget(spec, sourceTargets(spec)[0]!),
    ...extrasOf((spec.extraTargets ?? []).filter((t) => t.name !== name)),
  };
}

function extrasOf(targets: TargetSpec[]): { extraTargets?: TargetSpec[] } {
  return targets.length ? { extraTargets: targets } : {};
}

/**
 * A JSON merge patch body (for metadata.annotations) that turns the current
 * annotations into `spec`'s: spec keys it no longer has are set to null.
 */
export function specAnnotationsPatch(
  current: Record<string, string> | undefined,
  spec: ReplicationSpec,
): Record<string, string | null> {
  const want = renderSpec(spec);
  const patch: Record<string, string | null> = {};
  for (const k of Object.keys(current ?? {})) {
    if (k.startsWith(specPrefix) && !(k in want)) patch[k] = null;
  }
  for (const [k, v] of Object.entries(want)) if (current?.[k] !== v) patch[k] = v;
  return patch;
}

/**
 * A merge patch body removing one extra target: its suffixed spec and status
 * keys. The default target's keys are the PVC's; `disableAnnotationsPatch`.
 */
export function disableTargetPatch(
  current: Record<string, string> | undefined,
  target: string,
): Record<string, null> {
  const patch: Record<string, null> = {};
  if (target === defaultTarget) return patch;
  for (const k of Object.keys(current ?? {})) {
    const split = splitTargetKey(k);
    if (split?.target === target) patch[k] = null;
  }
  return patch;
}

/** A merge patch body removing every Scribe annotation (spec and status). */
export function disableAnnotationsPatch(
  current: Record<string, string> | undefined,
): Record<string, null> {
  const patch: Record<string, null> = {};
  for (const k of Object.keys(current ?? {})) {
    if (k.startsWith(specPrefix) || k.startsWith(statusPrefix)) patch[k] = null;
  }
  return patch;
}

/** Formats problems the way kubectl lists field errors. */
export function describeProblems(problems: readonly SpecProblem[]): string {
  return problems.map((p) => `metadata.annotations[${p.annotation}]: ${p.message}`).join('; ');
}
