// The replication spec: what the annotations on a PVC say, parsed and
// validated in one place, and rendered back for the plugin to write.
import { destinationOnlyKeys, sourceOnlyKeys, specKeys, specPrefix, statusPrefix } from './keys.ts';
import { knownMethod } from './methods.ts';
import {
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
  type Trigger,
  type VolumeMode,
} from './values.ts';
import { statusProblems } from './status.ts';
import { parseQuiesce, renderQuiesce, type QuiesceSpec } from './quiesce.ts';

export interface SourceSpec {
  role: 'source';
  /** `live`, `snapshot`, `clone`, or a vendor's method that Scribe leaves alone. */
  method: string;
  destination: PvcRef;
  /** HOST:PORT of the destination's mover; absent until the endpoint is up. */
  endpoint?: string;
  secret: string;
  /** The destination's volume mode, recorded when replication was enabled. */
  destinationVolumeMode: VolumeMode;
  trigger: Trigger;
  paused: boolean;
  syncRequested?: string;
  liveRequiresRwo: boolean;
  /** Every Nth sync compares file contents (rsync --checksum); 0 never. */
  checksumEvery: number;
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

  for (const k of present) {
    if (!allSpecKeys.includes(k)) {
      problems.push({
        annotation: k,
        message: `unknown Scribe annotation; valid keys are ${allSpecKeys.join(', ')}`,
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

  const take = <T>(key: string, parse: (v: string) => Parsed<T>): T | undefined => {
    const v = a[key];
    if (v === undefined) return undefined;
    const r = parse(v);
    if (r.ok) return r.value;
    problems.push({ annotation: key, message: r.message });
    return undefined;
  };
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

  const secret = need(specKeys.secret, secretName, 'the name of its key Secret');
  if (role === 'destination') {
    const source = need(specKeys.source, parsePvcRef, 'its source as CONTEXT/NAMESPACE/PVC');
    const keep =
      take(specKeys.snapshotsToKeep, (v) => parseCount(v, 1, 100)) ?? defaultSnapshotsToKeep;
    const serviceType = take(specKeys.serviceType, parseServiceType) ?? 'LoadBalancer';
    if (problems.length > 0 || !source || !secret) return { enabled: true, problems };
    return {
      enabled: true,
      spec: { role, source, secret, snapshotsToKeep: keep, serviceType },
      problems,
    };
  }

  const method = need(specKeys.method, parseMethodName, 'a method (live, snapshot or clone)');
  const destination = need(
    specKeys.destination,
    parsePvcRef,
    'its destination as CONTEXT/NAMESPACE/PVC',
  );
  const endpoint = take(specKeys.endpoint, parseEndpoint);
  const destinationVolumeMode = need(
    specKeys.volumeMode,
    parseVolumeMode,
    "the destination's volume mode",
  );
  const trigger = take(specKeys.schedule, parseTrigger) ?? { kind: 'manual' as const };
  const paused = take(specKeys.paused, parseBool) ?? false;
  const syncRequested = take(specKeys.syncRequested, parseTime);
  const liveRequiresRwo = take(specKeys.liveRequiresRwo, parseBool) ?? false;
  const checksumEvery =
    take(specKeys.checksumEvery, (v) => parseCount(v, 0, 10000)) ?? defaultChecksumEvery;
  const hook = parseQuiesce(a, method);
  problems.push(...hook.problems);
  if (problems.length > 0 || !method || !destination || !secret || !destinationVolumeMode) {
    return { enabled: true, problems };
  }
  return {
    enabled: true,
    spec: {
      role,
      method,
      destination,
      ...(endpoint !== undefined ? { endpoint } : {}),
      secret,
      destinationVolumeMode,
      trigger,
      paused,
      ...(syncRequested !== undefined ? { syncRequested } : {}),
      liveRequiresRwo,
      checksumEvery,
      ...(hook.quiesce ? { quiesce: hook.quiesce } : {}),
    },
    problems,
  };
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
    };
  }
  const out: Record<string, string> = {
    [specKeys.replication]: 'source',
    [specKeys.method]: spec.method,
    [specKeys.destination]: renderPvcRef(spec.destination),
    [specKeys.secret]: spec.secret,
    [specKeys.volumeMode]: spec.destinationVolumeMode,
    [specKeys.schedule]: spec.trigger.kind === 'manual' ? 'manual' : spec.trigger.cron,
    [specKeys.paused]: String(spec.paused),
    [specKeys.liveRequiresRwo]: String(spec.liveRequiresRwo),
    [specKeys.checksumEvery]: String(spec.checksumEvery),
  };
  if (spec.endpoint !== undefined) out[specKeys.endpoint] = spec.endpoint;
  if (spec.syncRequested !== undefined) out[specKeys.syncRequested] = spec.syncRequested;
  if (spec.quiesce) Object.assign(out, renderQuiesce(spec.quiesce));
  return out;
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
