// `kubectl scribe enable pvc`: from what both clusters hold to a plan — the
// checks with their errors, the method and why, and the objects to create or
// annotate on each side. Pure: the executor carries the plan out.
import type {
  V1Deployment,
  V1PersistentVolumeClaim,
  V1Secret,
  V1Service,
  V1StorageClass,
} from '@kubernetes/client-node';
import {
  defaultSnapshotsToKeep,
  defaultTarget,
  fallbacks,
  findTarget,
  knownMethod,
  parseQuiesce,
  renderArgv,
  renderDuration,
  specKeys,
  type QuiesceSpec,
  parseMethodName,
  parsePvcRef,
  parseSpec,
  parseTrigger,
  pickMethod,
  renderPvcRef,
  shortened,
  sourceTargets,
  specPrefix,
  supports,
  volumeModeMismatch,
  volumeModeOf,
  withTarget,
  type DestinationSpec,
  type PvcRef,
  type ServiceType,
  type SourceSpec,
  type TargetSpec,
} from '../../../model/src/index.ts';
import type { VolumeSnapshotClass } from '../kube/cluster.ts';
import { humanBytes } from '../output/table.ts';
import { capabilitiesOf } from './capabilities.ts';
import {
  destinationPvc,
  endpointClaim,
  endpointDeployment,
  endpointService,
  replicationNames,
  type ReplicationNames,
} from './objects.ts';
import { parseQuantity } from './quantity.ts';
import { planReadOnlyCopy, type ReadOnlyCopyFlags } from './read-only-copy.ts';

export type { ServiceType };

export interface EnableOptions {
  /** `auto`, a Scribe method, or a vendor's. */
  method: string;
  schedule: string;
  destStorageClass?: string | undefined;
  destAccessMode?: string | undefined;
  destCapacity?: string | undefined;
  serviceType?: ServiceType | undefined;
  skipWebhookCheck?: boolean | undefined;
  image: string;
  /** --read-only-copy and --scrub-*: none given keeps the destination's. */
  readOnlyCopy?: ReadOnlyCopyFlags | undefined;
  /** Which of the source's targets this destination is (default: the default target). */
  target?: string | undefined;
  /** The quiesce flags as given (undefined: not given, keep what the PVC has). */
  quiesce?: QuiesceFlags | undefined;
}

export interface EnableInputs {
  source: {
    context: string;
    pvc: V1PersistentVolumeClaim;
    /** The PVC's StorageClass (undefined: none, or not readable). */
    storageClass: V1StorageClass | undefined;
    /** undefined when they could not be listed (no permission). */
    snapshotClasses: readonly VolumeSnapshotClass[] | undefined;
    /** Webhook names registered; undefined when they could not be listed. */
    webhookNames: readonly string[] | undefined;
    secret: V1Secret | undefined;
  };
  destination: {
    ref: PvcRef;
    /** Both contexts reach the same API server. */
    sameCluster: boolean;
    pvc: V1PersistentVolumeClaim | undefined;
    secret: V1Secret | undefined;
    deployment: V1Deployment | undefined;
    service: V1Service | undefined;
    /** Webhook names registered there; undefined when they could not be listed. */
    webhookNames?: readonly string[] | undefined;
    /** --dest-storage-class as found on the destination (undefined: absent or not given). */
    storageClass: V1StorageClass | undefined;
  };
  options: EnableOptions;
}

export interface EnablePlan {
  /** Empty when the plan can be carried out. */
  errors: string[];
  warnings: string[];
  method: string;
  methodReason: string;
  source: PvcRef;
  destination: PvcRef;
  /** The source's target this plan sets up. */
  target: string;
  names: ReplicationNames;
  serviceType: ServiceType;
  /** New key pairs, or the pair both existing Secrets already hold. */
  keys: 'generate' | 'reuse';
  /**
   * Who runs the destination's mover endpoint: Scribe's in-cluster server
   * when it is installed there (it receives with a Job per sync and snapshots
   * after each), else the plugin itself (a Deployment and a Service).
   */
  endpointBy: 'scribe' | 'plugin';
  create: {
    destinationPvc?: V1PersistentVolumeClaim;
    destinationSecret: boolean;
    sourceSecret: boolean;
    deployment?: V1Deployment;
    service?: V1Service;
  };
  /**
   * The source's whole spec to write, its other targets as they were; this
   * target's endpoint is filled in once the address is known.
   */
  sourceSpec: SourceSpec;
  destinationSpec: DestinationSpec;
}

/** Scribe's admission webhooks are named under the domain its annotations use. */
export const scribeWebhookDomain = specPrefix.replace(/\/$/, '');

function hasScribeWebhook(names: readonly string[]): boolean {
  return names.some((n) => n === scribeWebhookDomain || n.endsWith(`.${scribeWebhookDomain}`));
}

export interface QuiesceFlags {
  command?: string | undefined;
  unquiesceCommand?: string | undefined;
  container?: string | undefined;
  timeout?: string | undefined;
}

/** A flag's command as a JSON argv: a JSON array as is, other text for sh -c. Pure. */
export function commandFlag(v: string): string {
  return v.trimStart().startsWith('[') ? v : JSON.stringify(['sh', '-c', v]);
}

/**
 * The quiesce hook enable writes: from the flags when any is given (checked
 * by the model's rules, in the flags' names), else the one the PVC has.
 * An empty --quiesce-command removes it. Pure.
 */
export function planQuiesce(
  f: QuiesceFlags | undefined,
  previous: QuiesceSpec | undefined,
  method: string,
): { quiesce?: QuiesceSpec; errors: string[] } {
  const given = f && Object.values(f).some((v) => v !== undefined);
  if (!given) return previous ? { quiesce: previous, errors: [] } : { errors: [] };
  if (f.command === '') return { errors: [] };
  const command = f.command ?? (previous ? renderArgv(previous.command) : undefined);
  if (command === undefined)
    return {
      errors: [
        '--unquiesce-command, --quiesce-container and --quiesce-timeout need --quiesce-command',
      ],
    };
  const a: Record<string, string> = { [specKeys.quiesceCommand]: commandFlag(command) };
  const unq =
    f.unquiesceCommand ??
    (previous?.unquiesceCommand ? renderArgv(previous.unquiesceCommand) : undefined);
  if (unq) a[specKeys.unquiesceCommand] = commandFlag(unq);
  const container = f.container ?? previous?.container;
  if (container) a[specKeys.quiesceContainer] = container;
  const timeout = f.timeout ?? (previous ? renderDuration(previous.timeoutSeconds) : undefined);
  if (timeout) a[specKeys.quiesceTimeout] = timeout;
  const flagOf: Record<string, string> = {
    [specKeys.quiesceCommand]: '--quiesce-command',
    [specKeys.unquiesceCommand]: '--unquiesce-command',
    [specKeys.quiesceContainer]: '--quiesce-container',
    [specKeys.quiesceTimeout]: '--quiesce-timeout',
  };
  const r = parseQuiesce(a, method);
  const errors = r.problems.map((p) => `invalid ${flagOf[p.annotation]}: ${p.message}`);
  return r.quiesce && errors.length === 0 ? { quiesce: r.quiesce, errors } : { errors };
}

export function planEnable(input: EnableInputs): EnablePlan {
  const { source, destination: dst, options: o } = input;
  const errors: string[] = [];
  const warnings: string[] = [];
  const srcRef: PvcRef = {
    context: source.context,
    namespace: source.pvc.metadata?.namespace ?? '',
    name: source.pvc.metadata?.name ?? '',
  };
  const dstRef = dst.ref;
  const target = o.target ?? defaultTarget;
  const names = replicationNames(srcRef.name, dstRef.name, target);
  const srcMode = volumeModeOf(source.pvc);
  const srcName = `persistentvolumeclaim "${srcRef.name}" (context "${srcRef.context}", namespace "${srcRef.namespace}")`;
  const dstName = `persistentvolumeclaim "${dstRef.name}" (context "${dstRef.context}", namespace "${dstRef.namespace}")`;

  // The same PVC cannot be its own destination.
  if (dst.sameCluster && dstRef.namespace === srcRef.namespace && dstRef.name === srcRef.name) {
    errors.push(
      `the destination is the source itself: name another namespace or PVC, e.g. --to ${dstRef.context}/${dstRef.namespace}/${dstRef.name}-replica`,
    );
  }

  // What the source already says about replication.
  const current = parseSpec(source.pvc.metadata?.annotations);
  if (current.spec?.role === 'destination') {
    errors.push(
      `${srcName} is itself a replication destination (of ${renderPvcRef(current.spec.source)}); it cannot be a source too`,
    );
  } else if (
    current.spec?.role === 'source' &&
    findTarget(current.spec, target) &&
    renderPvcRef(findTarget(current.spec, target)!.destination) !== renderPvcRef(dstRef)
  ) {
    const was = renderPvcRef(findTarget(current.spec, target)!.destination);
    errors.push(
      target === defaultTarget
        ? `${srcName} already replicates to ${was}: ` +
            `add ${renderPvcRef(dstRef)} as a further destination with --to NAME=${renderPvcRef(dstRef)}, or run kubectl scribe disable pvc ${srcRef.name} first to replicate it elsewhere`
        : `target "${target}" of ${srcName} already replicates to ${was}: ` +
            `run kubectl scribe disable pvc ${srcRef.name} --target ${target} first, or choose another target name`,
    );
  } else if (target !== defaultTarget && current.spec?.role !== 'source') {
    errors.push(
      `${srcName} has no default target yet: its first destination is the default one (give --to without a target name)`,
    );
  } else if (current.enabled && !current.spec) {
    warnings.push(
      `${srcName} carries invalid Scribe annotations; enable rewrites them (${current.problems.map((p) => p.message).join('; ')})`,
    );
  }

  // Trigger.
  const trigger = parseTrigger(o.schedule);
  if (!trigger.ok) errors.push(`invalid --schedule: ${trigger.message}`);

  // Method.
  if (source.snapshotClasses === undefined) {
    warnings.push(
      `cannot list VolumeSnapshotClasses in context "${srcRef.context}": taking the storage to have no snapshot support`,
    );
  }
  if (!source.storageClass && source.pvc.spec?.storageClassName) {
    warnings.push(
      `cannot read StorageClass "${source.pvc.spec.storageClassName}" in context "${srcRef.context}": taking the storage to support neither clones nor snapshots`,
    );
  }
  const cap = capabilitiesOf(source.storageClass, source.snapshotClasses ?? []);
  let method: string;
  let methodReason: string;
  const previousSource = current.spec?.role === 'source' ? current.spec : undefined;
  const others = previousSource
    ? sourceTargets(previousSource).filter((t) => t.name !== target)
    : [];
  if (o.method === 'auto' && previousSource && others.length > 0) {
    // One method per PVC: a further destination takes the one its targets use.
    method = previousSource.method;
    methodReason = `kept: the method is one per PVC, and its ${others.length === 1 ? 'other target uses' : `${others.length} other targets use`} it`;
  } else if (o.method === 'auto') {
    const pick = pickMethod(cap);
    method = pick.method;
    methodReason = `auto: ${pick.reason} (${cap.why})`;
  } else {
    method = o.method;
    const valid = parseMethodName(o.method);
    const known = knownMethod(o.method);
    if (!valid.ok) {
      errors.push(`invalid --method: ${valid.message}`);
      methodReason = '';
    } else if (!known) {
      methodReason = `"${o.method}" is not a Scribe method: Scribe leaves it to your storage vendor's operator`;
      warnings.push(
        `method "${o.method}" is not one of Scribe's (live, snapshot, clone): Scribe's server will not sync this PVC; your storage vendor's operator must`,
      );
    } else if (!supports(known, cap)) {
      const instead = fallbacks(known.name, cap);
      errors.push(
        `method "${o.method}" is not supported by StorageClass "${source.storageClass?.metadata?.name ?? '<none>'}" (${cap.why}); ` +
          `use --method ${instead.join(' or --method ')}, or --method auto`,
      );
      methodReason = '';
    } else {
      methodReason = `chosen with --method (${cap.why})`;
    }
  }
  if (previousSource && others.length > 0 && method !== previousSource.method) {
    warnings.push(
      `--method ${method} applies to the whole PVC: its other targets (${others.map((t) => t.name).join(', ')}) change from ${previousSource.method} too`,
    );
  }
  if (method === 'live' && others.length > 0) {
    errors.push(
      `method "live" replicates to one destination, but ${srcName} has ${others.length + 1} targets with this one: use --method snapshot or --method clone`,
    );
  }
  if (method === 'live') {
    warnings.push(
      'method "live" copies the volume while the application writes: the copy is not crash-consistent',
    );
  }

  // The webhook carries out live copies and checks the spec on every change.
  if (!o.skipWebhookCheck) {
    if (source.webhookNames === undefined) {
      warnings.push(
        `cannot list admission webhooks in context "${srcRef.context}": not checking that Scribe's webhook is installed`,
      );
    } else if (!hasScribeWebhook(source.webhookNames)) {
      errors.push(
        `Scribe's webhook is not installed in context "${srcRef.context}" (no admission webhook named *.${scribeWebhookDomain}): ` +
          `nothing would carry out the replication; install Scribe there first, or pass --skip-webhook-check to annotate anyway`,
      );
    }
    // The destination's server takes the snapshots after each transfer.
    if (dst.webhookNames && !dst.sameCluster && !hasScribeWebhook(dst.webhookNames)) {
      warnings.push(
        `Scribe is not installed in context "${dstRef.context}": data will arrive, but no destination snapshots will be taken until it is`,
      );
    }
  }

  // Destination PVC: reuse (same volume mode, large enough, not someone else's) or create.
  const srcRequest = source.pvc.spec?.resources?.requests?.storage;
  const srcCapacity = source.pvc.status?.capacity?.storage;
  const srcBytes = Math.max(
    parseQuantity(srcRequest ?? '') ?? 0,
    parseQuantity(srcCapacity ?? '') ?? 0,
  );
  const wantStorage = o.destCapacity ?? srcCapacity ?? srcRequest ?? '';
  if (o.destCapacity !== undefined && parseQuantity(o.destCapacity) === undefined) {
    errors.push(`invalid --dest-capacity "${o.destCapacity}": use a quantity such as 20Gi`);
  }
  let createPvc: V1PersistentVolumeClaim | undefined;
  if (dst.pvc) {
    const dstMode = volumeModeOf(dst.pvc);
    const mismatch = volumeModeMismatch(srcMode, dstMode);
    if (mismatch) errors.push(`${dstName}: ${mismatch}`);
    const dstBytes = Math.max(
      parseQuantity(dst.pvc.spec?.resources?.requests?.storage ?? '') ?? 0,
      parseQuantity(dst.pvc.status?.capacity?.storage ?? '') ?? 0,
    );
    if (dstBytes < srcBytes) {
      errors.push(
        `${dstName} is too small: ${humanBytes(dstBytes)} for a source of ${humanBytes(srcBytes)}; ` +
          `expand it, or name a new PVC in --to and Scribe creates it with the source's size`,
      );
    }
    const dstSpec = parseSpec(dst.pvc.metadata?.annotations);
    if (dstSpec.spec?.role === 'source') {
      errors.push(`${dstName} is itself a replication source; it cannot be a destination too`);
    } else if (
      dstSpec.spec?.role === 'destination' &&
      renderPvcRef(dstSpec.spec.source) !== renderPvcRef(srcRef)
    ) {
      errors.push(
        `${dstName} already receives from ${renderPvcRef(dstSpec.spec.source)}; name another PVC in --to`,
      );
    }
    for (const flag of ['destStorageClass', 'destAccessMode', 'destCapacity'] as const) {
      if (o[flag] !== undefined) {
        warnings.push(
          `${dstName} exists: --${flag.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)} is not applied to it`,
        );
      }
    }
  } else {
    if (o.destStorageClass !== undefined && !dst.storageClass) {
      errors.push(
        `storageclasses "${o.destStorageClass}" not found in context "${dstRef.context}": ` +
          `check the name with kubectl get storageclass --context ${dstRef.context}`,
      );
    }
    if (!wantStorage) {
      errors.push(`${srcName} requests no storage size: pass --dest-capacity`);
    } else if ((parseQuantity(wantStorage) ?? 0) < srcBytes) {
      errors.push(
        `--dest-capacity ${wantStorage} is smaller than the source (${humanBytes(srcBytes)})`,
      );
    }
    createPvc = destinationPvc({
      name: dstRef.name,
      namespace: dstRef.namespace,
      // One cluster: the source's class is there too; across clusters the
      // destination's default unless named.
      storageClassName:
        o.destStorageClass ??
        (dst.sameCluster
          ? (source.pvc.spec?.storageClassName ?? source.storageClass?.metadata?.name)
          : undefined),
      accessModes: o.destAccessMode
        ? [o.destAccessMode]
        : (source.pvc.spec?.accessModes ?? ['ReadWriteOnce']),
      volumeMode: srcMode,
      storage: wantStorage,
    });
  }

  // Keys: both Secrets from an earlier run are reused; one without the other is a half-done setup.
  let keys: 'generate' | 'reuse' = 'generate';
  if (source.secret && dst.secret) keys = 'reuse';
  else if (source.secret || dst.secret) {
    const which = source.secret
      ? `secret "${names.sourceSecret}" exists in context "${srcRef.context}" but secret "${names.destinationSecret}" does not exist in context "${dstRef.context}"`
      : `secret "${names.destinationSecret}" exists in context "${dstRef.context}" but secret "${names.sourceSecret}" does not exist in context "${srcRef.context}"`;
    errors.push(
      `${which}: a replication was half set up; run kubectl scribe disable pvc ${srcRef.name} and enable again`,
    );
  }

  const serviceType: ServiceType =
    o.serviceType ?? (dst.sameCluster ? 'ClusterIP' : 'LoadBalancer');
  if (serviceType === 'ClusterIP' && !dst.sameCluster) {
    warnings.push(
      `--service-type ClusterIP across clusters: the source must reach the destination's cluster network directly`,
    );
  }
  const endpoint = {
    name: names.endpoint,
    namespace: dstRef.namespace,
    pvc: dstRef.name,
    secret: names.destinationSecret,
    image: o.image,
    volumeMode: srcMode,
    serviceType,
  };
  const served = endpointClaim(dst.deployment, dst.service);
  if (served && served.claim !== (served.exact ? dstRef.name : shortened(dstRef.name, 63))) {
    errors.push(
      `deployment/service "${names.endpoint}" in context "${dstRef.context}" receives into persistentvolumeclaim "${served.claim}", not "${dstRef.name}": ` +
        `names that differ only in "." and "-" share an endpoint; choose another destination name (--to ${dstRef.context}/${dstRef.namespace}/NAME)`,
    );
  }
  if (dst.service && dst.service.spec?.type !== serviceType && o.serviceType !== undefined) {
    warnings.push(
      `service "${names.endpoint}" exists with type ${dst.service.spec?.type}: --service-type ${serviceType} is not applied to it; disable and enable again to change it`,
    );
  }

  const previous = previousSource ? findTarget(previousSource, target) : undefined;
  // The quiesce hook is the PVC's, whichever target this enable sets up.
  const hook = planQuiesce(o.quiesce, previousSource?.quiesce, method);
  errors.push(...hook.errors);
  const targetSpec: TargetSpec = {
    name: target,
    destination: dstRef,
    secret: names.sourceSecret,
    destinationVolumeMode: dst.pvc ? volumeModeOf(dst.pvc) : srcMode,
    trigger: trigger.ok ? trigger.value : { kind: 'manual' },
    paused: previous?.paused ?? false,
    checksumEvery: previous?.checksumEvery ?? 10,
    ...(previous?.endpoint ? { endpoint: previous.endpoint } : {}),
    ...(previous?.syncRequested ? { syncRequested: previous.syncRequested } : {}),
  };
  const sourceSpec: SourceSpec = withTarget(
    {
      ...(previousSource ?? {
        role: 'source',
        destination: dstRef,
        secret: names.sourceSecret,
        destinationVolumeMode: targetSpec.destinationVolumeMode,
        trigger: targetSpec.trigger,
        paused: false,
        checksumEvery: 10,
        liveRequiresRwo: false,
      }),
      method,
      quiesce: hook.quiesce,
    },
    targetSpec,
  );
  if (!sourceSpec.quiesce) delete sourceSpec.quiesce;
  const currentDst = dst.pvc ? parseSpec(dst.pvc.metadata?.annotations).spec : undefined;
  // Two receivers must never share the volume: the plugin's own endpoint only
  // where no Scribe server runs, and a leftover one is reported.
  const endpointBy: EnablePlan['endpointBy'] =
    dst.webhookNames && hasScribeWebhook(dst.webhookNames) ? 'scribe' : 'plugin';
  if (endpointBy === 'scribe' && (dst.deployment || dst.service)) {
    errors.push(
      `Scribe now runs in context "${dstRef.context}", but deployment/service "${names.endpoint}" from an earlier enable still receive there: ` +
        `run kubectl scribe disable pvc ${srcRef.name} and enable again`,
    );
  }
  // An existing endpoint Service keeps its type: that is how the source reaches it.
  const effectiveServiceType = (dst.service?.spec?.type as ServiceType | undefined) ?? serviceType;
  const copy = planReadOnlyCopy(
    o.readOnlyCopy ?? {},
    currentDst?.role === 'destination' ? currentDst.readOnlyCopy : undefined,
    dstRef.name,
  );
  errors.push(...copy.errors);
  if (copy.spec && endpointBy === 'plugin') {
    warnings.push(
      `Scribe's server is not installed in context "${dstRef.context}": it makes the read-only copy "${copy.spec.name}"; none appears until it is`,
    );
  }
  const destinationSpec: DestinationSpec = {
    role: 'destination',
    source: srcRef,
    secret: names.destinationSecret,
    snapshotsToKeep:
      currentDst?.role === 'destination' ? currentDst.snapshotsToKeep : defaultSnapshotsToKeep,
    serviceType: effectiveServiceType,
    ...(copy.spec ? { readOnlyCopy: copy.spec } : {}),
    ...(target !== defaultTarget ? { sourceTarget: target } : {}),
  };

  return {
    errors,
    warnings,
    method,
    methodReason,
    source: srcRef,
    destination: dstRef,
    target,
    names,
    serviceType: effectiveServiceType,
    keys,
    endpointBy,
    create: {
      ...(createPvc ? { destinationPvc: createPvc } : {}),
      destinationSecret: !dst.secret,
      sourceSecret: !source.secret,
      ...(endpointBy === 'plugin' && !dst.deployment
        ? { deployment: endpointDeployment(endpoint) }
        : {}),
      ...(endpointBy === 'plugin' && !dst.service ? { service: endpointService(endpoint) } : {}),
    },
    sourceSpec,
    destinationSpec,
  };
}

/** `--to CONTEXT[/NAMESPACE[/PVC]]`, the missing parts from the source. */
export function parseTo(
  to: string,
  source: { namespace: string; name: string },
): { ok: true; ref: PvcRef } | { ok: false; message: string } {
  const parts = to.split('/');
  if (parts.length > 3 || parts.some((p) => p === '')) {
    return {
      ok: false,
      message: `invalid --to "${to}": use CONTEXT, CONTEXT/NAMESPACE or CONTEXT/NAMESPACE/PVC`,
    };
  }
  const [context, namespace = source.namespace, name = source.name] = parts as [
    string,
    string?,
    string?,
  ];
  const checked = parsePvcRef(`${context}/${namespace}/${name}`);
  if (!checked.ok) return { ok: false, message: `invalid --to "${to}": ${checked.message}` };
  return { ok: true, ref: checked.value };
}
