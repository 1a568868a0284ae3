// The write paths of the API: create, update, patch and delete, each in
// kube-apiserver's order (defaulting, mutating admission, the strategy's
// preparation, validation, validating admission, then the store), plus the
// garbage collector and namespace finalizer that act through the same paths.
import { randomUUID } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import type { V1DeleteOptions, V1ManagedFieldsEntry, V1Status } from '@kubernetes/client-node';
import {
  ApiError,
  type AdmissionAttributes,
  type AdmissionChain,
  type KubeObject,
} from './admission-seam.ts';
import type { UserInfo } from './auth.ts';
import {
  admitCreate,
  applySchemeDefaults,
  generateName,
  prepareForCreate,
  tracksGeneration,
} from './defaults.ts';
import {
  defaultPropagation,
  dependentsOf,
  ownerVerdict,
  propagationFinalizer,
  removableProtection,
  PVC_PROTECTION,
  type Located,
  type Propagation,
} from './gc.ts';
import { immutableFieldErrors } from './immutable.ts';
import {
  applyManagedFields,
  conflictMessage,
  describePath,
  updateManagedFields,
  type ManagerContext,
} from './managed-fields.ts';
import { applyPatch, mergeApplied, parseApplyConfig, patchTypeOf } from './patch.ts';
import {
  RESOURCES,
  apiVersionOf,
  findResource,
  resourceKey,
  type ResourceType,
} from './resources.ts';
import {
  STALE_OBJECT,
  alreadyExists,
  badRequest,
  conflict,
  invalid,
  invalidValue,
  namespaceTerminating,
  notFound,
} from './status-errors.ts';
import { clone, type Store } from './store.ts';
import { validateFinalizersDuringDeletion, validateObject } from './validation.ts';

export interface WriteContext {
  user: UserInfo;
  userAgent?: string;
  dryRun: boolean;
  fieldManager?: string;
  fieldValidation?: string;
  force?: boolean;
}

export interface WriteResult {
  /** The object, or a Status for an immediate delete. */
  body: KubeObject | V1Status;
  code: number;
  warnings: string[];
}

const CONTROLLER_USER: UserInfo = {
  username: 'system:serviceaccount:kube-system:generic-garbage-collector',
  uid: randomUUID(),
  groups: ['system:serviceaccounts', 'system:serviceaccounts:kube-system', 'system:authenticated'],
};
const PVC_PROTECTION_CONTROLLER: UserInfo = {
  username: 'system:serviceaccount:kube-system:pvc-protection-controller',
  uid: randomUUID(),
  groups: ['system:serviceaccounts', 'system:serviceaccounts:kube-system', 'system:authenticated'],
};
const PV_PROTECTION_CONTROLLER: UserInfo = {
  username: 'system:serviceaccount:kube-system:pv-protection-controller',
  uid: randomUUID(),
  groups: ['system:serviceaccounts', 'system:serviceaccounts:kube-system', 'system:authenticated'],
};
const NAMESPACE_CONTROLLER: UserInfo = {
  username: 'system:serviceaccount:kube-system:namespace-controller',
  uid: randomUUID(),
  groups: ['system:serviceaccounts', 'system:serviceaccounts:kube-system', 'system:authenticated'],
};

/**
 * The object changed while this write awaited admission: etcd's
 * compare-and-swap failed. Writes without a resourceVersion precondition are
 * retried from the fresh object; conditional ones answer 409.
 */
class StaleWrite extends Error {
  conditional: boolean;
  constructor(conditional = false) {
    super('stale write');
    this.conditional = conditional;
  }
}

const WRITE_ATTEMPTS = 5;

export function now(): string {
  return new Date().toISOString().replace(/\.\d+Z$/, 'Z');
}

const META_ORDER = [
  'name',
  'generateName',
  'namespace',
  'selfLink',
  'uid',
  'resourceVersion',
  'generation',
  'creationTimestamp',
  'deletionTimestamp',
  'deletionGracePeriodSeconds',
  'labels',
  'annotations',
  'ownerReferences',
  'finalizers',
  'managedFields',
];

/** Key order as the Go structs serialize: kind, apiVersion, metadata, the rest, status last. */
export function canonical(obj: KubeObject): KubeObject {
  const meta = (obj.metadata ?? {}) as Record<string, unknown>;
  const orderedMeta: Record<string, unknown> = {};
  for (const k of META_ORDER) if (meta[k] !== undefined) orderedMeta[k] = meta[k];
  for (const [k, v] of Object.entries(meta))
    if (!(k in orderedMeta) && v !== undefined) orderedMeta[k] = v;
  for (const k of ['labels', 'annotations']) {
    if (orderedMeta[k] && Object.keys(orderedMeta[k] as object).length === 0) delete orderedMeta[k];
  }
  for (const k of ['finalizers', 'ownerReferences', 'managedFields']) {
    if (Array.isArray(orderedMeta[k]) && (orderedMeta[k] as unknown[]).length === 0)
      delete orderedMeta[k];
  }
  const out: Record<string, unknown> = {
    kind: obj.kind,
    apiVersion: obj.apiVersion,
    metadata: orderedMeta,
  };
  for (const [k, v] of Object.entries(obj)) {
    if (k === 'kind' || k === 'apiVersion' || k === 'metadata' || k === 'status' || v === undefined)
      continue;
    out[k] = v;
  }
  if ((obj as Record<string, unknown>).status !== undefined)
    out.status = (obj as Record<string, unknown>).status;
  return out as KubeObject;
}

function withoutManaged(o: KubeObject): unknown {
  const c = JSON.parse(JSON.stringify(o)) as KubeObject;
  if (c.metadata) delete c.metadata.managedFields;
  return c;
}

function createOptions(ctx: WriteContext): object {
  const o: Record<string, unknown> = { kind: 'CreateOptions', apiVersion: 'meta.k8s.io/v1' };
  if (ctx.dryRun) o.dryRun = ['All'];
  if (ctx.fieldManager) o.fieldManager = ctx.fieldManager;
  if (ctx.fieldValidation) o.fieldValidation = ctx.fieldValidation;
  return o;
}

function updateOptions(ctx: WriteContext): object {
  return { ...createOptions(ctx), kind: 'UpdateOptions' };
}

export class Registry {
  private readonly store: Store;
  private readonly chain: AdmissionChain;
  private gcScheduled = false;
  private gcRunning: Promise<void> = Promise.resolve();
  private stopped = false;
  /** Run the pvc- and pv-protection controllers' finalizer removal (kube-controller-manager's job). */
  protectionControllers = true;

  constructor(store: Store, chain: AdmissionChain) {
    this.store = store;
    this.chain = chain;
  }

  stop(): void {
    this.stopped = true;
  }

  /** Resolves once pending garbage collection has run (tests use it to wait deterministically). */
  async settled(): Promise<void> {
    // Each pass may schedule another (a removed finalizer lets the namespace go); bounded.
    for (let i = 0; i < 100; i++) {
      const running = this.gcRunning;
      await running;
      await new Promise((r) => setImmediate(r));
      if (!this.gcScheduled && this.gcRunning === running) return;
    }
  }

  private managerOf(ctx: WriteContext, rt: ResourceType, subresource?: string): ManagerContext {
    const ua = ctx.userAgent ?? '';
    const fromUa = ua.split('/')[0]!.trim() || 'unknown';
    const m: ManagerContext = {
      manager: ctx.fieldManager ?? fromUa,
      apiVersion: apiVersionOf(rt),
      time: now(),
    };
    if (subresource) m.subresource = subresource;
    return m;
  }

  private attrs(
    rt: ResourceType,
    op: AdmissionAttributes['operation'],
    ns: string | undefined,
    name: string | undefined,
    object: KubeObject | null,
    oldObject: KubeObject | null,
    ctx: WriteContext,
    options: object,
    subResource?: string,
  ): AdmissionAttributes {
    const a: AdmissionAttributes = {
      operation: op,
      kind: { group: rt.group, version: rt.version, kind: rt.kind },
      resource: { group: rt.group, version: rt.version, resource: rt.resource },
      object,
      oldObject,
      dryRun: ctx.dryRun,
      options,
      userInfo: ctx.user,
    };
    if (subResource) a.subResource = subResource;
    if (name) a.name = name;
    if (ns) a.namespace = ns;
    return a;
  }

  /**
   * The DefaultStorageClass admission plugin: a claim that names no class
   * (the field absent, not "") gets the class marked default, before webhooks.
   */
  private defaultStorageClass(obj: KubeObject): void {
    const spec = (obj as { spec?: { storageClassName?: string | null } }).spec;
    if (!spec || spec.storageClassName !== undefined) return;
    const defaults = this.store
      .list('storage.k8s.io/storageclasses')
      .filter(
        (sc) =>
          sc.metadata?.annotations?.['storageclass.kubernetes.io/is-default-class'] === 'true',
      );
    // With several defaults the real plugin takes the newest.
    defaults.sort((a, b) =>
      String(b.metadata?.creationTimestamp ?? '').localeCompare(
        String(a.metadata?.creationTimestamp ?? ''),
      ),
    );
    if (defaults[0]?.metadata?.name) spec.storageClassName = defaults[0].metadata.name;
  }
  private checkTypeMeta(rt: ResourceType, obj: KubeObject): void {
    const want = apiVersionOf(rt);
    if (obj.apiVersion && obj.apiVersion !== want) {
      throw badRequest(
        `the API version in the data (${obj.apiVersion}) does not match the expected API version (${want})`,
      );
    }
    if (obj.kind && obj.kind !== rt.kind) {
      throw badRequest(
        `the kind in the data (${obj.kind}) does not match the expected kind (${rt.kind})`,
      );
    }
    obj.apiVersion = want;
    obj.kind = rt.kind;
  }

  private checkNamespace(
    rt: ResourceType,
    ns: string | undefined,
    obj: KubeObject,
    creating: boolean,
  ): void {
    const meta = (obj.metadata ??= {});
    if (!rt.namespaced) {
      delete meta.namespace;
      return;
    }
    if (meta.namespace && meta.namespace !== ns) {
      throw badRequest(
        'the namespace of the provided object does not match the namespace sent on the request',
      );
    }
    meta.namespace = ns;
    if (!creating) return;
    const nsObj = this.store.get('/namespaces', undefined, ns!);
    if (!nsObj) throw notFound('', 'namespaces', ns!);
    if (nsObj.metadata?.deletionTimestamp) {
      throw namespaceTerminating(ns!, rt.group, rt.resource, meta.name ?? meta.generateName ?? '');
    }
  }

  async create(
    rt: ResourceType,
    ns: string | undefined,
    body: KubeObject,
    ctx: WriteContext,
    managedFields?: V1ManagedFieldsEntry[],
  ): Promise<WriteResult> {
    let obj = clone(body);
    this.checkTypeMeta(rt, obj);
    this.checkNamespace(rt, ns, obj, true);
    const meta = obj.metadata!;
    for (const k of [
      'uid',
      'resourceVersion',
      'deletionTimestamp',
      'deletionGracePeriodSeconds',
      'generation',
    ]) {
      delete (meta as Record<string, unknown>)[k];
    }
    (meta as Record<string, unknown>).creationTimestamp = null;
    applySchemeDefaults(rt, obj);
    // Field ownership is recorded from the request as decoded, before admission plugins add to it.
    meta.managedFields = managedFields ?? updateManagedFields(null, obj, this.managerOf(ctx, rt));
    admitCreate(rt, obj);
    if (rt.group === '' && rt.kind === 'PersistentVolumeClaim') this.defaultStorageClass(obj);
    const options = createOptions(ctx);
    const mutating = this.attrs(rt, 'CREATE', ns, meta.name, canonical(obj), null, ctx, options);
    const mutated = await this.chain.mutate(mutating);
    obj = clone(mutated.object ?? obj);
    this.checkTypeMeta(rt, obj);
    const m = (obj.metadata ??= {});
    if (!m.name && m.generateName) m.name = generateName(m.generateName);
    m.uid = randomUUID();
    (m as Record<string, unknown>).creationTimestamp = now();
    prepareForCreate(rt, obj);
    const errs = validateObject(rt, obj);
    if (errs.length) throw invalid(rt.group, rt.kind, m.name ?? '', errs);
    obj = canonical(obj);
    const validated = await this.chain.validate({ ...mutating, name: m.name, object: obj });
    if (this.store.get(resourceKey(rt), m.namespace, m.name!))
      throw alreadyExists(rt.group, rt.resource, m.name!);
    // What the store hands back has been through defaulting again (a PVC's phase returns).
    applySchemeDefaults(rt, obj);
    obj = canonical(obj);
    const stored = ctx.dryRun ? obj : this.store.put(resourceKey(rt), obj);
    if (!ctx.dryRun && rt.resource === 'namespaces') this.seedNamespace(m.name!);
    if (!ctx.dryRun) this.scheduleGc();
    return {
      body: canonical(stored),
      code: 201,
      warnings: [...mutated.warnings, ...validated.warnings],
    };
  }

  /** What the ServiceAccount and root-CA controllers put into every new namespace. */
  private seedNamespace(ns: string): void {
    setImmediate(() => {
      if (this.stopped) return;
      const ctx: WriteContext = {
        user: NAMESPACE_CONTROLLER,
        dryRun: false,
        userAgent: 'kube-controller-manager/v1.24.0',
      };
      const sa = RESOURCES.find((r) => r.resource === 'serviceaccounts')!;
      const cm = RESOURCES.find((r) => r.resource === 'configmaps')!;
      void this.create(sa, ns, { metadata: { name: 'default' } } as KubeObject, ctx).catch(
        () => undefined,
      );
      void this.create(
        cm,
        ns,
        { metadata: { name: 'kube-root-ca.crt' }, data: { 'ca.crt': this.caPem } } as KubeObject,
        ctx,
      ).catch(() => undefined);
    });
  }

  caPem = '';

  private async retrying(
    rt: ResourceType,
    name: string,
    once: () => Promise<WriteResult>,
  ): Promise<WriteResult> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await once();
      } catch (e) {
        if (!(e instanceof StaleWrite)) throw e;
        if (e.conditional || attempt >= WRITE_ATTEMPTS)
          throw conflict(rt.group, rt.resource, name, STALE_OBJECT);
      }
    }
  }

  update(
    rt: ResourceType,
    ns: string | undefined,
    name: string,
    body: KubeObject,
    ctx: WriteContext,
    subresource?: string,
  ): Promise<WriteResult> {
    return this.retrying(rt, name, () => this.updateOnce(rt, ns, name, body, ctx, subresource));
  }

  private async updateOnce(
    rt: ResourceType,
    ns: string | undefined,
    name: string,
    body: KubeObject,
    ctx: WriteContext,
    subresource?: string,
  ): Promise<WriteResult> {
    const existing = this.store.get(resourceKey(rt), ns, name);
    if (!existing) throw notFound(rt.group, rt.resource, name);
    const obj = clone(body);
    this.checkTypeMeta(rt, obj);
    this.checkNamespace(rt, ns, obj, false);
    if (obj.metadata?.name && obj.metadata.name !== name) {
      throw badRequest(
        `the name of the object (${obj.metadata.name}) does not match the name on the URL (${name})`,
      );
    }
    const rv = obj.metadata?.resourceVersion;
    if (rv && rv !== existing.metadata!.resourceVersion)
      throw conflict(rt.group, rt.resource, name, STALE_OBJECT);
    return this.commitUpdate(rt, existing, obj, ctx, subresource, undefined, Boolean(rv));
  }

  patch(
    rt: ResourceType,
    ns: string | undefined,
    name: string,
    body: string,
    contentType: string | undefined,
    ctx: WriteContext,
    subresource?: string,
  ): Promise<WriteResult> {
    return this.retrying(rt, name, () =>
      this.patchOnce(rt, ns, name, body, contentType, ctx, subresource),
    );
  }

  private async patchOnce(
    rt: ResourceType,
    ns: string | undefined,
    name: string,
    body: string,
    contentType: string | undefined,
    ctx: WriteContext,
    subresource?: string,
  ): Promise<WriteResult> {
    const type = patchTypeOf(contentType);
    const existing = this.store.get(resourceKey(rt), ns, name);
    if (type === 'apply') return this.apply(rt, ns, name, body, existing, ctx, subresource);
    if (!existing) throw notFound(rt.group, rt.resource, name);
    // A patch is conditional only when it names a resourceVersion itself.
    const base = clone(existing);
    delete base.metadata!.resourceVersion;
    const patched = applyPatch(type, base, body);
    const rv = patched.metadata?.resourceVersion;
    if (rv && rv !== existing.metadata!.resourceVersion)
      throw conflict(rt.group, rt.resource, name, STALE_OBJECT);
    if (patched.metadata?.name !== name) {
      throw badRequest(
        `the name of the object (${patched.metadata?.name}) does not match the name on the URL (${name})`,
      );
    }
    return this.commitUpdate(rt, existing, patched, ctx, subresource, undefined, Boolean(rv));
  }

  private async apply(
    rt: ResourceType,
    ns: string | undefined,
    name: string,
    body: string,
    existing: KubeObject | undefined,
    ctx: WriteContext,
    subresource?: string,
  ): Promise<WriteResult> {
    const applied = parseApplyConfig(body);
    if (!applied.apiVersion) throw badRequest('apiVersion must be set in the apply configuration');
    if (!applied.kind) throw badRequest('kind must be set in the apply configuration');
    if (applied.metadata?.name && applied.metadata.name !== name) {
      throw badRequest(
        `the name of the object (${applied.metadata.name}) does not match the name on the URL (${name})`,
      );
    }
    if (!ctx.fieldManager) {
      throw badRequest('PATCH, application/apply-patch+yaml requests must specify a fieldManager');
    }
    const mctx = this.managerOf(ctx, rt, subresource);
    if (!existing) {
      const obj = mergeApplied(null, applied);
      (obj.metadata ??= {}).name = name;
      const res = applyManagedFields(null, obj, applied, mctx, true);
      return this.create(rt, ns, res.object, ctx, res.object.metadata!.managedFields);
    }
    const merged = mergeApplied(existing, applied);
    const res = applyManagedFields(existing, merged, applied, mctx, ctx.force === true);
    if (res.conflicts.length > 0) {
      throw new ApiError({
        kind: 'Status',
        apiVersion: 'v1',
        metadata: {},
        status: 'Failure',
        message: conflictMessage(res.conflicts),
        reason: 'Conflict',
        details: {
          causes: res.conflicts.map((c) => ({
            reason: 'FieldManagerConflict',
            message: `conflict with ${c.label}`,
            field: describePath(c.path),
          })),
        },
        code: 409,
      });
    }
    return this.commitUpdate(
      rt,
      existing,
      res.object,
      ctx,
      subresource,
      res.object.metadata!.managedFields,
    );
  }

  private async commitUpdate(
    rt: ResourceType,
    existing: KubeObject,
    proposed: KubeObject,
    ctx: WriteContext,
    subresource?: string,
    managedFields?: V1ManagedFieldsEntry[],
    conditional = false,
  ): Promise<WriteResult> {
    let obj = clone(proposed);
    this.checkTypeMeta(rt, obj);
    const old = existing.metadata!;
    if (subresource === 'status') {
      const status = (obj as Record<string, unknown>).status;
      const meta = obj.metadata;
      obj = clone(existing);
      (obj as Record<string, unknown>).status = status;
      obj.metadata!.managedFields = meta?.managedFields ?? old.managedFields;
    } else if (rt.status) {
      (obj as Record<string, unknown>).status = clone((existing as Record<string, unknown>).status);
    }
    const meta = (obj.metadata ??= {});
    if (meta.uid && meta.uid !== old.uid) {
      throw invalid(rt.group, rt.kind, old.name!, [
        invalidValue('metadata.uid', meta.uid, 'field is immutable'),
      ]);
    }
    meta.name = old.name;
    meta.namespace = old.namespace;
    meta.uid = old.uid;
    meta.creationTimestamp = old.creationTimestamp;
    meta.resourceVersion = old.resourceVersion;
    meta.deletionTimestamp = old.deletionTimestamp;
    meta.deletionGracePeriodSeconds = old.deletionGracePeriodSeconds;
    meta.generation = old.generation;
    if (rt.resource === 'namespaces') {
      (obj as { spec?: unknown }).spec = clone((existing as { spec?: unknown }).spec);
    }
    applySchemeDefaults(rt, obj);
    meta.managedFields =
      managedFields ?? updateManagedFields(existing, obj, this.managerOf(ctx, rt, subresource));
    if (tracksGeneration(rt) && subresource !== 'status') {
      const strip = (o: KubeObject): unknown => {
        const c = clone(o) as Record<string, unknown>;
        delete c.metadata;
        delete c.status;
        return c;
      };
      if (!isDeepStrictEqual(strip(existing), strip(obj)))
        meta.generation = (old.generation ?? 0) + 1;
    }
    const a = this.attrs(
      rt,
      'UPDATE',
      old.namespace,
      old.name,
      canonical(obj),
      existing,
      ctx,
      updateOptions(ctx),
      subresource,
    );
    const mutated = await this.chain.mutate(a);
    obj = clone(mutated.object ?? obj);
    this.checkTypeMeta(rt, obj);
    const errs = [
      ...validateObject(rt, obj),
      ...immutableFieldErrors(rt, existing, obj),
      ...validateFinalizersDuringDeletion(existing, obj),
    ];
    if (errs.length) throw invalid(rt.group, rt.kind, old.name!, errs);
    obj = canonical(obj);
    const validated = await this.chain.validate({ ...a, object: obj });
    const warnings = [...mutated.warnings, ...validated.warnings];
    const key = resourceKey(rt);
    // Nothing below awaits: the check and the write are one step, like etcd's transaction.
    const current = this.store.get(key, old.namespace, old.name!);
    if (!current) throw notFound(rt.group, rt.resource, old.name!);
    if (current.metadata!.resourceVersion !== old.resourceVersion)
      throw new StaleWrite(conditional);
    if (isDeepStrictEqual(withoutManaged(canonical(existing)), withoutManaged(obj))) {
      return { body: canonical(existing), code: 200, warnings };
    }
    if (obj.metadata!.deletionTimestamp && (obj.metadata!.finalizers ?? []).length === 0) {
      const gone = ctx.dryRun ? obj : (this.store.remove(key, old.namespace, old.name!) ?? obj);
      if (!ctx.dryRun) this.scheduleGc();
      return {
        body: canonical({
          ...obj,
          metadata: { ...obj.metadata, resourceVersion: gone.metadata!.resourceVersion },
        }),
        code: 200,
        warnings,
      };
    }
    const stored = ctx.dryRun ? obj : this.store.put(key, obj);
    if (!ctx.dryRun) this.scheduleGc();
    return { body: canonical(stored), code: 200, warnings };
  }

  delete(
    rt: ResourceType,
    ns: string | undefined,
    name: string,
    opts: V1DeleteOptions,
    ctx: WriteContext,
  ): Promise<WriteResult> {
    return this.retrying(rt, name, () => this.deleteOnce(rt, ns, name, opts, ctx));
  }

  private async deleteOnce(
    rt: ResourceType,
    ns: string | undefined,
    name: string,
    opts: V1DeleteOptions,
    ctx: WriteContext,
  ): Promise<WriteResult> {
    const key = resourceKey(rt);
    let existing = this.store.get(key, ns, name);
    if (!existing) throw notFound(rt.group, rt.resource, name);
    const pre = opts.preconditions;
    if (pre?.uid && pre.uid !== existing.metadata!.uid) {
      throw conflict(
        rt.group,
        rt.resource,
        name,
        `Precondition failed: UID in precondition: ${pre.uid}, UID in object meta: ${existing.metadata!.uid}`,
      );
    }
    if (pre?.resourceVersion && pre.resourceVersion !== existing.metadata!.resourceVersion) {
      throw conflict(
        rt.group,
        rt.resource,
        name,
        `Precondition failed: ResourceVersion in precondition: ${pre.resourceVersion}, ResourceVersion in object meta: ${existing.metadata!.resourceVersion}`,
      );
    }
    const policy =
      (opts.propagationPolicy as Propagation | undefined) ??
      defaultPropagation(rt, opts.orphanDependents);
    const isPod = rt.group === '' && rt.resource === 'pods';
    const graceful =
      isPod && Boolean((existing as { spec?: { nodeName?: string } }).spec?.nodeName);
    const options: Record<string, unknown> = {
      kind: 'DeleteOptions',
      apiVersion: 'meta.k8s.io/v1',
    };
    const grace = isPod && !graceful ? 0 : opts.gracePeriodSeconds;
    if (grace !== undefined) options.gracePeriodSeconds = grace;
    if (opts.preconditions) options.preconditions = opts.preconditions;
    if (opts.orphanDependents !== undefined) options.orphanDependents = opts.orphanDependents;
    if (opts.propagationPolicy) options.propagationPolicy = opts.propagationPolicy;
    if (ctx.dryRun) options.dryRun = ['All'];
    const warnings: string[] = [];
    const admit = async (old: KubeObject): Promise<void> => {
      const a = this.attrs(rt, 'DELETE', ns, name, null, old, ctx, options);
      warnings.push(...(await this.chain.mutate(a)).warnings);
      warnings.push(...(await this.chain.validate(a)).warnings);
    };
    const unchanged = (seen: KubeObject): void => {
      const current = this.store.get(key, ns, name);
      if (!current) throw notFound(rt.group, rt.resource, name);
      if (current.metadata!.resourceVersion !== seen.metadata!.resourceVersion) {
        throw new StaleWrite(Boolean(pre?.resourceVersion));
      }
    };
    await admit(existing);
    unchanged(existing);
    if (ctx.dryRun) return { body: canonical(existing), code: 200, warnings };

    if (rt.resource === 'namespaces') {
      if (!existing.metadata!.deletionTimestamp) {
        (existing.metadata as Record<string, unknown>).deletionTimestamp = now();
        (existing as { status?: { phase?: string } }).status = { phase: 'Terminating' };
        existing = this.store.put(key, canonical(existing));
      }
      this.scheduleGc();
      return { body: canonical(existing), code: 200, warnings };
    }
    const extra = propagationFinalizer(policy);
    const hasDependents = dependentsOf(existing.metadata!.uid!, this.snapshot()).length > 0;
    const finalizers = [...(existing.metadata!.finalizers ?? [])];
    if (extra && hasDependents && !finalizers.includes(extra)) finalizers.push(extra);
    const gracePeriod = graceful ? (opts.gracePeriodSeconds ?? 30) : 0;
    if (
      isPod &&
      !existing.metadata!.deletionTimestamp &&
      (finalizers.length > 0 || gracePeriod > 0 || !graceful)
    ) {
      // A pod is first marked (its grace period starts), then removed once nothing holds it.
      const m = existing.metadata as Record<string, unknown>;
      m.deletionTimestamp = new Date(Date.now() + gracePeriod * 1000)
        .toISOString()
        .replace(/\.\d+Z$/, 'Z');
      m.deletionGracePeriodSeconds = gracePeriod;
      existing.metadata!.finalizers = finalizers;
      existing = this.store.put(key, canonical(existing));
      if (finalizers.length > 0 || gracePeriod > 0) {
        this.scheduleGc();
        return { body: canonical(existing), code: 200, warnings };
      }
      await admit(existing);
      unchanged(existing);
    } else if (finalizers.length > 0) {
      if (
        !existing.metadata!.deletionTimestamp ||
        finalizers.length !== (existing.metadata!.finalizers ?? []).length
      ) {
        const m = existing.metadata as Record<string, unknown>;
        m.deletionTimestamp ??= now();
        m.deletionGracePeriodSeconds ??= 0;
        existing.metadata!.finalizers = finalizers;
        existing = this.store.put(key, canonical(existing));
      }
      this.scheduleGc();
      return { body: canonical(existing), code: 200, warnings };
    }
    const gone = this.store.remove(key, ns, name)!;
    this.scheduleGc();
    if (isPod) return { body: canonical(gone), code: 200, warnings };
    const status: V1Status = {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Success',
      details: { name, kind: rt.resource, uid: gone.metadata!.uid },
    };
    if (rt.group)
      status.details = { name, group: rt.group, kind: rt.resource, uid: gone.metadata!.uid };
    return { body: status, code: 200, warnings };
  }

  /** Every stored object with its resource type, as stored (read only: see Store.peek). */
  snapshot(): Located[] {
    const out: Located[] = [];
    for (const rt of RESOURCES) {
      for (const object of this.store.peek(resourceKey(rt))) out.push({ rt, object });
    }
    return out;
  }

  private scheduleGc(): void {
    if (this.gcScheduled || this.stopped) return;
    this.gcScheduled = true;
    setImmediate(() => {
      this.gcScheduled = false;
      this.gcRunning = this.gcRunning
        .then(() => this.collect())
        .catch((e: unknown) => {
          if (process.env.STANDIN_DEBUG) console.error(e);
        });
    });
  }

  private async quietly(p: Promise<unknown>): Promise<void> {
    try {
      await p;
    } catch (e) {
      // A dependent already gone, or refused by admission: the next pass sees it.
      if (process.env.STANDIN_DEBUG) console.error(e);
      if (!(e instanceof ApiError)) throw e;
    }
  }

  /** One pass of the garbage collector and the namespace controller. */
  private async collect(): Promise<void> {
    if (this.stopped) return;
    const ctx: WriteContext = {
      user: CONTROLLER_USER,
      dryRun: false,
      userAgent: 'kube-controller-manager/v1.24.0',
    };
    const all = this.snapshot();
    const live = new Set(all.map((l) => l.object.metadata!.uid!));
    for (const { rt, object } of all) {
      const meta = object.metadata!;
      const finalizers = meta.finalizers ?? [];
      if (meta.deletionTimestamp && finalizers.includes('orphan')) {
        for (const d of dependentsOf(meta.uid!, all)) {
          const keep = (d.object.metadata!.ownerReferences ?? []).filter((r) => r.uid !== meta.uid);
          const patch = JSON.stringify({
            metadata: { ownerReferences: keep.length ? keep : null },
          });
          await this.quietly(
            this.patch(
              d.rt,
              d.object.metadata!.namespace,
              d.object.metadata!.name!,
              patch,
              'application/merge-patch+json',
              ctx,
            ),
          );
        }
        await this.dropFinalizer(rt, object, 'orphan', ctx);
      }
      if (meta.deletionTimestamp && finalizers.includes('foregroundDeletion')) {
        const deps = dependentsOf(meta.uid!, all);
        for (const d of deps) {
          if (d.object.metadata!.deletionTimestamp) continue;
          await this.quietly(
            this.delete(
              d.rt,
              d.object.metadata!.namespace,
              d.object.metadata!.name!,
              { propagationPolicy: 'Foreground' },
              ctx,
            ),
          );
        }
        if (deps.length === 0) await this.dropFinalizer(rt, object, 'foregroundDeletion', ctx);
      }
      const verdict = ownerVerdict(object, live);
      if (verdict.action === 'delete') {
        await this.quietly(
          this.delete(rt, meta.namespace, meta.name!, { propagationPolicy: 'Background' }, ctx),
        );
      } else if (verdict.action === 'dropRefs') {
        const patch = JSON.stringify({ metadata: { ownerReferences: verdict.keep } });
        await this.quietly(
          this.patch(rt, meta.namespace, meta.name!, patch, 'application/merge-patch+json', ctx),
        );
      }
      const protection = this.protectionControllers
        ? removableProtection({ rt, object }, all)
        : undefined;
      if (protection) {
        const user =
          protection === PVC_PROTECTION ? PVC_PROTECTION_CONTROLLER : PV_PROTECTION_CONTROLLER;
        await this.dropFinalizer(rt, object, protection, { ...ctx, user });
      }
      if (rt.resource === 'namespaces' && meta.deletionTimestamp)
        await this.finalizeNamespace(object, all);
    }
  }

  private async dropFinalizer(
    rt: ResourceType,
    object: KubeObject,
    finalizer: string,
    ctx: WriteContext,
  ): Promise<void> {
    const current = this.store.get(
      resourceKey(rt),
      object.metadata!.namespace,
      object.metadata!.name!,
    );
    if (!current) return;
    const rest = (current.metadata!.finalizers ?? []).filter((f) => f !== finalizer);
    const patch = JSON.stringify({ metadata: { finalizers: rest.length ? rest : null } });
    await this.quietly(
      this.patch(
        rt,
        object.metadata!.namespace,
        object.metadata!.name!,
        patch,
        'application/merge-patch+json',
        ctx,
      ),
    );
  }

  private async finalizeNamespace(ns: KubeObject, all: Located[]): Promise<void> {
    const name = ns.metadata!.name!;
    const ctx: WriteContext = {
      user: NAMESPACE_CONTROLLER,
      dryRun: false,
      userAgent: 'kube-controller-manager/v1.24.0',
    };
    const contents = all.filter((l) => l.rt.namespaced && l.object.metadata!.namespace === name);
    for (const l of contents) {
      if (l.object.metadata!.deletionTimestamp) continue;
      await this.quietly(
        this.delete(l.rt, name, l.object.metadata!.name!, { propagationPolicy: 'Background' }, ctx),
      );
    }
    if (contents.length > 0) {
      this.scheduleGc();
      return;
    }
    if ((ns.metadata!.finalizers ?? []).length > 0) return;
    this.store.remove('/namespaces', undefined, name);
  }

  /** DELETE on a collection: each matching object through the delete path. */
  async deleteCollection(
    rt: ResourceType,
    objects: KubeObject[],
    opts: V1DeleteOptions,
    ctx: WriteContext,
  ): Promise<WriteResult> {
    const warnings: string[] = [];
    const items: unknown[] = [];
    for (const o of objects) {
      const r = await this.delete(rt, o.metadata!.namespace, o.metadata!.name!, opts, ctx);
      warnings.push(...r.warnings);
      items.push((r.body as KubeObject).kind === 'Status' ? o : r.body);
    }
    return {
      body: {
        kind: rt.listKind,
        apiVersion: apiVersionOf(rt),
        metadata: { resourceVersion: String(this.store.resourceVersion) },
        items,
      } as unknown as KubeObject,
      code: 200,
      warnings,
    };
  }

  lookup(group: string, version: string, resource: string): ResourceType | undefined {
    return findResource(group, version, resource);
  }
}
