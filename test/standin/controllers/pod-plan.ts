// How the stand-in's kubelet turns a container of a pod into a local process:
// which program the image's entrypoint is, the environment (downward API,
// Secret and ConfigMap keys, $(VAR) expansion as Kubernetes does it), and
// what is mounted where. Pure: volumes and objects come in resolved.

import type { V1Container, V1EnvVar, V1Pod } from '@kubernetes/client-node';

/** Scribe's image; its entrypoints map to the built project's scripts. */
export const SCRIBE_IMAGE = /^ghcr\.io\/backube\/scribe(:[\w.-]+|@sha256:[0-9a-f]{64})?$/;

export type ImagePolicy = 'run' | 'noop' | 'pending';

/** Scribe's own image runs; other images run a no-op when asked (noopOtherImages), else stay Pending. */
export function imagePolicy(image: string | undefined, noopOtherImages: boolean): ImagePolicy {
  if (image !== undefined && SCRIBE_IMAGE.test(image)) return 'run';
  return noopOtherImages ? 'noop' : 'pending';
}

/** An entrypoint name (or path) of Scribe's image → the argv prefix that runs it here. */
export type Entrypoints = Record<string, string[]>;

export interface VolumeSourceResolved {
  /** A directory, a file or a block device/image on the host. */
  hostPath: string;
  kind: 'dir' | 'device';
  /** The volume itself is read-only (a PVC volume with readOnly, Secrets, ConfigMaps). */
  readOnly: boolean;
}

export interface Mount {
  hostPath: string;
  containerPath: string;
  readOnly: boolean;
  /** 'device' binds a block device (or image file) at a file path (volumeDevices). */
  kind: 'dir' | 'file' | 'device';
}

export interface ContainerPlan {
  name: string;
  /** argv as the container sees paths; argv[0] is a host program. */
  argv: string[];
  env: Record<string, string>;
  mounts: Mount[];
}

export interface PlanContext {
  podIP: string;
  nodeName: string;
  hostIP: string;
  volumes: Map<string, VolumeSourceResolved>;
  secrets: Map<string, Record<string, string>>;
  configMaps: Map<string, Record<string, string>>;
  entrypoints: Entrypoints;
  /** Program for images that run a no-op. */
  noop: string[];
  policy: ImagePolicy;
  /** Extra variables every container gets (PATH, HOSTNAME, KUBERNETES_SERVICE_*). */
  baseEnv: Record<string, string>;
}

/**
 * Expands $(VAR) from `env` the way the kubelet does: defined names are
 * replaced, undefined references stay as written, and $$ escapes a $.
 */
export function expandVars(s: string, env: Record<string, string>): string {
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (c !== '$' || i + 1 >= s.length) {
      out += c;
      continue;
    }
    const next = s[i + 1];
    if (next === '$') {
      out += '$';
      i++;
    } else if (next === '(') {
      const close = s.indexOf(')', i + 2);
      if (close < 0) {
        out += s.slice(i);
        break;
      }
      const name = s.slice(i + 2, close);
      out += Object.hasOwn(env, name) ? env[name] : s.slice(i, close + 1);
      i = close;
    } else {
      out += c;
    }
  }
  return out;
}

function fieldValue(pod: V1Pod, path: string, ctx: PlanContext): string {
  switch (path) {
    case 'metadata.name':
      return pod.metadata?.name ?? '';
    case 'metadata.namespace':
      return pod.metadata?.namespace ?? '';
    case 'metadata.uid':
      return pod.metadata?.uid ?? '';
    case 'spec.nodeName':
      return ctx.nodeName;
    case 'spec.serviceAccountName':
      return pod.spec?.serviceAccountName ?? 'default';
    case 'status.podIP':
      return ctx.podIP;
    case 'status.podIPs':
      return ctx.podIP;
    case 'status.hostIP':
      return ctx.hostIP;
  }
  const label = /^metadata\.(labels|annotations)\['(.+)'\]$/.exec(path);
  if (label) {
    const map = label[1] === 'labels' ? pod.metadata?.labels : pod.metadata?.annotations;
    return map?.[label[2] as string] ?? '';
  }
  throw new Error(`unsupported fieldRef fieldPath "${path}"`);
}

function envValue(
  pod: V1Pod,
  v: V1EnvVar,
  env: Record<string, string>,
  ctx: PlanContext,
): string | undefined {
  if (v.value !== undefined) return expandVars(v.value, env);
  const from = v.valueFrom;
  if (from === undefined) return '';
  if (from.fieldRef) return fieldValue(pod, from.fieldRef.fieldPath, ctx);
  if (from.secretKeyRef) {
    const data = ctx.secrets.get(from.secretKeyRef.name ?? '');
    const value = data?.[from.secretKeyRef.key];
    if (value === undefined && !from.secretKeyRef.optional) {
      throw new Error(
        data === undefined
          ? `secret "${from.secretKeyRef.name}" not found`
          : `couldn't find key ${from.secretKeyRef.key} in Secret ${pod.metadata?.namespace}/${from.secretKeyRef.name}`,
      );
    }
    return value;
  }
  if (from.configMapKeyRef) {
    const data = ctx.configMaps.get(from.configMapKeyRef.name ?? '');
    const value = data?.[from.configMapKeyRef.key];
    if (value === undefined && !from.configMapKeyRef.optional) {
      throw new Error(
        data === undefined
          ? `configmap "${from.configMapKeyRef.name}" not found`
          : `couldn't find key ${from.configMapKeyRef.key} in ConfigMap ${pod.metadata?.namespace}/${from.configMapKeyRef.name}`,
      );
    }
    return value;
  }
  throw new Error(`env ${v.name}: unsupported valueFrom (resourceFieldRef)`);
}

/** The container's environment in Kubernetes order: envFrom, then env (each may refer to earlier names). */
export function containerEnv(pod: V1Pod, c: V1Container, ctx: PlanContext): Record<string, string> {
  const env: Record<string, string> = { ...ctx.baseEnv };
  for (const src of c.envFrom ?? []) {
    const name = src.secretRef?.name ?? src.configMapRef?.name ?? '';
    const data = src.secretRef ? ctx.secrets.get(name) : ctx.configMaps.get(name);
    const optional = src.secretRef?.optional ?? src.configMapRef?.optional ?? false;
    if (data === undefined) {
      if (optional) continue;
      throw new Error(`${src.secretRef ? 'secret' : 'configmap'} "${name}" not found`);
    }
    for (const [k, v] of Object.entries(data)) env[`${src.prefix ?? ''}${k}`] = v;
  }
  for (const v of c.env ?? []) {
    const value = envValue(pod, v, env, ctx);
    if (value !== undefined) env[v.name] = value;
  }
  return env;
}

/** The argv of a container: command (the image's entrypoint when named) and args, with $(VAR) expanded. */
export function containerArgv(
  c: V1Container,
  env: Record<string, string>,
  ctx: PlanContext,
): string[] {
  if (ctx.policy === 'noop') return ctx.noop;
  const command = (c.command ?? []).map((s) => expandVars(s, env));
  const args = (c.args ?? []).map((s) => expandVars(s, env));
  // Scribe's image has no default entrypoint: a pod names one, in command or as args[0].
  const words = command.length > 0 ? [...command, ...args] : args;
  const program = words[0];
  if (program === undefined)
    throw new Error(
      `container ${c.name}: no command and no args: Scribe's image has no default entrypoint`,
    );
  const base = program.slice(program.lastIndexOf('/') + 1);
  const mapped = ctx.entrypoints[base];
  return mapped !== undefined ? [...mapped, ...words.slice(1)] : words;
}

/** A server told to listen on every address gets its pod's own address: pods share the host's network. */
export function pinWildcardListen(argv: string[], podIP: string): string[] {
  return argv.map((a) => a.replace(/^(--listen=)?(0\.0\.0\.0|\[::\]|\*)(:\d+)$/, `$1${podIP}$3`));
}

export function containerMounts(c: V1Container, ctx: PlanContext): Mount[] {
  const mounts: Mount[] = [];
  for (const m of c.volumeMounts ?? []) {
    const vol = ctx.volumes.get(m.name);
    if (vol === undefined)
      throw new Error(`container ${c.name}: volumeMount "${m.name}" names no volume`);
    if (vol.kind === 'device')
      throw new Error(
        `container ${c.name}: volume "${m.name}" has volumeMode Block: use volumeDevices, not volumeMounts`,
      );
    const sub = m.subPath ? `/${m.subPath.replace(/^\/+/, '')}` : '';
    if (sub.split('/').includes('..'))
      throw new Error(`container ${c.name}: subPath "${m.subPath}" must not contain '..'`);
    mounts.push({
      hostPath: `${vol.hostPath}${sub}`,
      containerPath: m.mountPath,
      readOnly: m.readOnly === true || vol.readOnly,
      kind: sub ? 'file' : 'dir',
    });
  }
  for (const d of c.volumeDevices ?? []) {
    const vol = ctx.volumes.get(d.name);
    if (vol === undefined)
      throw new Error(`container ${c.name}: volumeDevice "${d.name}" names no volume`);
    if (vol.kind !== 'device')
      throw new Error(
        `container ${c.name}: volume "${d.name}" has volumeMode Filesystem: use volumeMounts, not volumeDevices`,
      );
    mounts.push({
      hostPath: vol.hostPath,
      containerPath: d.devicePath,
      readOnly: vol.readOnly,
      kind: 'device',
    });
  }
  return mounts;
}

export function planContainer(pod: V1Pod, c: V1Container, ctx: PlanContext): ContainerPlan {
  const env = containerEnv(pod, c, ctx);
  const argv = pinWildcardListen(containerArgv(c, env, ctx), ctx.podIP);
  return { name: c.name, argv, env, mounts: ctx.policy === 'noop' ? [] : containerMounts(c, ctx) };
}

/**
 * Without a mount namespace the container's paths do not exist: rewrite
 * each argument and env value that starts with a mount path to the host
 * path behind it (longest mount first).
 */
export function rewritePaths(plan: ContainerPlan): ContainerPlan {
  const mounts = [...plan.mounts].sort((a, b) => b.containerPath.length - a.containerPath.length);
  const rewrite = (s: string): string => {
    const eq = /^(--[\w-]+=)(.*)$/.exec(s);
    const [prefix, value] = eq ? [eq[1] as string, eq[2] as string] : ['', s];
    for (const m of mounts) {
      const p = m.containerPath.replace(/\/+$/, '');
      if (value === p || value.startsWith(`${p}/`))
        return `${prefix}${m.hostPath}${value.slice(p.length)}`;
    }
    return s;
  };
  return {
    ...plan,
    argv: plan.argv.map(rewrite),
    env: Object.fromEntries(Object.entries(plan.env).map(([k, v]) => [k, rewrite(v)])),
  };
}
