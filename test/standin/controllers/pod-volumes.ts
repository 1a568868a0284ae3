// The kubelet's volume setup: Secret, ConfigMap, downward API and projected
// volumes become files in the pod's directory with the modes the pod spec
// gives; emptyDirs are directories; claims resolve to their volume's path.

import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type {
  V1KeyToPath,
  V1PersistentVolume,
  V1PersistentVolumeClaim,
  V1Pod,
  V1Volume,
} from '@kubernetes/client-node';
import type { VolumeSourceResolved } from './pod-plan.ts';

export interface VolumeInputs {
  pod: V1Pod;
  podIP: string;
  nodeName: string;
  claims: (name: string) => V1PersistentVolumeClaim | undefined;
  volumes: (name: string) => V1PersistentVolume | undefined;
  secrets: Map<string, Record<string, string>>;
  configMaps: Map<string, Record<string, string>>;
  /** What a service account token volume holds: the stand-in's API token and CA. */
  serviceAccount: { token: string; caPem: string };
}

/** Why a pod cannot start yet (e.g. an unbound claim), or undefined when its claims are ready. */
export function claimsPending(
  pod: V1Pod,
  inp: Pick<VolumeInputs, 'claims' | 'volumes'>,
): string | undefined {
  for (const v of pod.spec?.volumes ?? []) {
    const name = v.persistentVolumeClaim?.claimName;
    if (name === undefined) continue;
    const pvc = inp.claims(name);
    if (pvc === undefined) return `persistentvolumeclaim "${name}" not found`;
    if (pvc.metadata?.deletionTimestamp) return `persistentvolumeclaim "${name}" is being deleted`;
    if (
      pvc.status?.phase !== 'Bound' ||
      !pvc.spec?.volumeName ||
      inp.volumes(pvc.spec.volumeName) === undefined
    ) {
      return 'pod has unbound immediate PersistentVolumeClaims';
    }
  }
  return undefined;
}

/** Secret and ConfigMap names the pod needs (volumes, env, envFrom), each with whether it is optional. */
export function referencedObjects(pod: V1Pod): {
  secrets: Map<string, boolean>;
  configMaps: Map<string, boolean>;
} {
  const secrets = new Map<string, boolean>();
  const configMaps = new Map<string, boolean>();
  const need = (
    m: Map<string, boolean>,
    name: string | undefined,
    optional: boolean | undefined,
  ): void => {
    if (!name) return;
    m.set(name, (m.get(name) ?? true) && optional === true);
  };
  for (const v of pod.spec?.volumes ?? []) {
    need(secrets, v.secret?.secretName, v.secret?.optional);
    need(configMaps, v.configMap?.name, v.configMap?.optional);
    for (const s of v.projected?.sources ?? []) {
      need(secrets, s.secret?.name, s.secret?.optional);
      // kube-root-ca.crt stands for the API's CA; the stand-in supplies it.
      if (s.configMap?.name !== 'kube-root-ca.crt')
        need(configMaps, s.configMap?.name, s.configMap?.optional);
    }
  }
  for (const c of [...(pod.spec?.initContainers ?? []), ...(pod.spec?.containers ?? [])]) {
    for (const e of c.env ?? []) {
      need(secrets, e.valueFrom?.secretKeyRef?.name, e.valueFrom?.secretKeyRef?.optional);
      need(configMaps, e.valueFrom?.configMapKeyRef?.name, e.valueFrom?.configMapKeyRef?.optional);
    }
    for (const e of c.envFrom ?? []) {
      need(secrets, e.secretRef?.name, e.secretRef?.optional);
      need(configMaps, e.configMapRef?.name, e.configMapRef?.optional);
    }
  }
  return { secrets, configMaps };
}

function fieldValue(pod: V1Pod, path: string, podIP: string, nodeName: string): string {
  if (path === 'metadata.name') return pod.metadata?.name ?? '';
  if (path === 'metadata.namespace') return pod.metadata?.namespace ?? '';
  if (path === 'metadata.uid') return pod.metadata?.uid ?? '';
  if (path === 'status.podIP') return podIP;
  if (path === 'spec.nodeName') return nodeName;
  if (path === 'metadata.labels' || path === 'metadata.annotations') {
    const m = (path === 'metadata.labels' ? pod.metadata?.labels : pod.metadata?.annotations) ?? {};
    return Object.entries(m)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
      .join('\n');
  }
  throw new Error(`unsupported downward API fieldPath "${path}"`);
}

function safeJoin(dir: string, rel: string): string {
  if (rel.startsWith('/') || rel.split('/').includes('..'))
    throw new Error(`volume item path "${rel}" must be relative and must not contain '..'`);
  return join(dir, rel);
}

async function writeItems(
  dir: string,
  data: Record<string, string>,
  items: V1KeyToPath[] | undefined,
  defaultMode: number,
  what: string,
  optional: boolean,
): Promise<void> {
  const chosen: V1KeyToPath[] = items ?? Object.keys(data).map((key) => ({ key, path: key }));
  for (const item of chosen) {
    const value = data[item.key];
    if (value === undefined) {
      if (optional) continue;
      throw new Error(`configmap or secret ${what} has no key ${item.key}`);
    }
    const file = safeJoin(dir, item.path);
    await mkdir(dirname(file), { recursive: true });
    await writeFile(file, value, 'latin1');
    await chmod(file, item.mode ?? defaultMode);
  }
}

/** Writes the pod's file volumes under `dir` and returns where every volume is on the host. */
export async function setUpVolumes(
  dir: string,
  inp: VolumeInputs,
): Promise<Map<string, VolumeSourceResolved>> {
  const out = new Map<string, VolumeSourceResolved>();
  const { pod } = inp;
  for (const v of pod.spec?.volumes ?? ([] as V1Volume[])) {
    const vdir = join(dir, 'volumes', v.name);
    if (v.persistentVolumeClaim) {
      const pvc = inp.claims(v.persistentVolumeClaim.claimName);
      const pv = pvc?.spec?.volumeName ? inp.volumes(pvc.spec.volumeName) : undefined;
      const path = pv?.spec?.local?.path ?? pv?.spec?.hostPath?.path;
      if (path === undefined)
        throw new Error(
          `volume "${v.name}": claim ${v.persistentVolumeClaim.claimName} has no local volume`,
        );
      out.set(v.name, {
        hostPath: path,
        kind: pv?.spec?.volumeMode === 'Block' ? 'device' : 'dir',
        readOnly: v.persistentVolumeClaim.readOnly === true,
      });
      continue;
    }
    await mkdir(vdir, { recursive: true, mode: 0o755 });
    if (v.emptyDir) {
      await chmod(vdir, 0o777);
    } else if (v.secret) {
      const data = inp.secrets.get(v.secret.secretName ?? '');
      if (data === undefined && !v.secret.optional)
        throw new Error(`secret "${v.secret.secretName}" not found`);
      await writeItems(
        vdir,
        data ?? {},
        v.secret.items,
        v.secret.defaultMode ?? 0o644,
        `${pod.metadata?.namespace}/${v.secret.secretName}`,
        v.secret.optional === true,
      );
    } else if (v.configMap) {
      const data = inp.configMaps.get(v.configMap.name ?? '');
      if (data === undefined && !v.configMap.optional)
        throw new Error(`configmap "${v.configMap.name}" not found`);
      await writeItems(
        vdir,
        data ?? {},
        v.configMap.items,
        v.configMap.defaultMode ?? 0o644,
        `${pod.metadata?.namespace}/${v.configMap.name}`,
        v.configMap.optional === true,
      );
    } else if (v.downwardAPI) {
      for (const item of v.downwardAPI.items ?? []) {
        if (!item.fieldRef) continue;
        const file = safeJoin(vdir, item.path);
        await mkdir(dirname(file), { recursive: true });
        await writeFile(file, fieldValue(pod, item.fieldRef.fieldPath, inp.podIP, inp.nodeName));
        await chmod(file, item.mode ?? v.downwardAPI.defaultMode ?? 0o644);
      }
    } else if (v.projected) {
      const mode = v.projected.defaultMode ?? 0o644;
      for (const s of v.projected.sources ?? []) {
        if (s.serviceAccountToken) {
          await writeItems(
            vdir,
            { t: inp.serviceAccount.token },
            [{ key: 't', path: s.serviceAccountToken.path }],
            mode,
            'token',
            false,
          );
        } else if (s.configMap?.name === 'kube-root-ca.crt') {
          await writeItems(
            vdir,
            { 'ca.crt': inp.serviceAccount.caPem },
            s.configMap.items,
            mode,
            'kube-root-ca.crt',
            false,
          );
        } else if (s.configMap) {
          await writeItems(
            vdir,
            inp.configMaps.get(s.configMap.name ?? '') ?? {},
            s.configMap.items,
            mode,
            s.configMap.name ?? '',
            s.configMap.optional === true,
          );
        } else if (s.secret) {
          await writeItems(
            vdir,
            inp.secrets.get(s.secret.name ?? '') ?? {},
            s.secret.items,
            mode,
            s.secret.name ?? '',
            s.secret.optional === true,
          );
        } else if (s.downwardAPI) {
          for (const item of s.downwardAPI.items ?? []) {
            if (!item.fieldRef) continue;
            const file = safeJoin(vdir, item.path);
            await mkdir(dirname(file), { recursive: true });
            await writeFile(
              file,
              fieldValue(pod, item.fieldRef.fieldPath, inp.podIP, inp.nodeName),
            );
            await chmod(file, item.mode ?? mode);
          }
        }
      }
    } else {
      throw new Error(
        `volume "${v.name}": only persistentVolumeClaim, secret, configMap, emptyDir, downwardAPI and projected volumes run on the stand-in`,
      );
    }
    out.set(v.name, { hostPath: vdir, kind: 'dir', readOnly: !v.emptyDir });
  }
  return out;
}
