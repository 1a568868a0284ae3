// Defaulting as kube-apiserver 1.24 does it before admission webhooks run:
// scheme defaults (every write), the create-time admission plugins
// (ServiceAccount, StorageObjectInUseProtection, DefaultTolerationSeconds) and
// the strategies' PrepareForCreate. Shapes are those of the fixtures'
// admission requests.
import type {
  V1Container,
  V1JobSpec,
  V1PersistentVolumeClaim,
  V1Pod,
  V1PodSpec,
  V1PodTemplateSpec,
  V1Service,
  V1Toleration,
  V1Volume,
} from '@kubernetes/client-node';
import type { KubeObject } from './admission-seam.ts';
import type { ResourceType } from './resources.ts';

/** k8s.io/apimachinery/pkg/util/rand's alphabet: no vowels, no look-alikes. */
const ALPHABET = 'bcdfghjklmnpqrstvwxz2456789';

export function randomSuffix(n = 5, random: () => number = Math.random): string {
  let s = '';
  for (let i = 0; i < n; i++) s += ALPHABET[Math.floor(random() * ALPHABET.length)];
  return s;
}

/** generateName + 5 characters, the prefix cut so the name stays within 63. */
export function generateName(prefix: string, random?: () => number): string {
  return prefix.slice(0, 58) + randomSuffix(5, random);
}

const SA_MOUNT_PATH = '/var/run/secrets/kubernetes.io/serviceaccount';

function defaultContainer(c: V1Container): void {
  c.resources ??= {};
  c.terminationMessagePath ??= '/dev/termination-log';
  c.terminationMessagePolicy ??= 'File';
  if (!c.imagePullPolicy) {
    const image = c.image ?? '';
    const tag = /:([^/:]+)$/.exec(image.split('@')[0]!)?.[1];
    c.imagePullPolicy =
      !image.includes('@') && (tag === undefined || tag === 'latest') ? 'Always' : 'IfNotPresent';
  }
  for (const p of c.ports ?? []) p.protocol ??= 'TCP';
}

/** Scheme defaults of a PodSpec (pods and every pod template). */
function defaultPodSpec(spec: V1PodSpec): void {
  for (const c of spec.initContainers ?? []) defaultContainer(c);
  for (const c of spec.containers ?? []) defaultContainer(c);
  spec.restartPolicy ??= 'Always';
  spec.terminationGracePeriodSeconds ??= 30;
  spec.dnsPolicy ??= 'ClusterFirst';
  spec.securityContext ??= {};
  spec.schedulerName ??= 'default-scheduler';
  spec.enableServiceLinks ??= true;
  for (const v of spec.volumes ?? []) {
    if (v.secret) v.secret.defaultMode ??= 420;
    if (v.configMap) v.configMap.defaultMode ??= 420;
    if (v.projected) v.projected.defaultMode ??= 420;
    if (v.emptyDir === null) v.emptyDir = {};
  }
  if (spec.serviceAccountName) spec.serviceAccount = spec.serviceAccountName;
}

function defaultTemplate(t: V1PodTemplateSpec | undefined): void {
  if (!t) return;
  t.metadata ??= {};
  (t.metadata as Record<string, unknown>).creationTimestamp ??= null;
  if (t.spec) defaultPodSpec(t.spec);
}

const DEFAULT_TOLERATIONS: V1Toleration[] = [
  {
    key: 'node.kubernetes.io/not-ready',
    operator: 'Exists',
    effect: 'NoExecute',
    tolerationSeconds: 300,
  },
  {
    key: 'node.kubernetes.io/unreachable',
    operator: 'Exists',
    effect: 'NoExecute',
    tolerationSeconds: 300,
  },
];

/** What the ServiceAccount, DefaultTolerationSeconds and Priority admission plugins add to a new pod. */
function admitNewPod(pod: V1Pod, random?: () => number): void {
  const spec = pod.spec!;
  spec.serviceAccountName ??= spec.serviceAccount ?? 'default';
  spec.serviceAccount = spec.serviceAccountName;
  const all = [...(spec.initContainers ?? []), ...(spec.containers ?? [])];
  const mounted = all.some((c) =>
    (c.volumeMounts ?? []).some((m) => m.mountPath === SA_MOUNT_PATH),
  );
  if (spec.automountServiceAccountToken !== false && !mounted) {
    const name = `kube-api-access-${randomSuffix(5, random)}`;
    const volume: V1Volume = {
      name,
      projected: {
        sources: [
          { serviceAccountToken: { expirationSeconds: 3607, path: 'token' } },
          { configMap: { name: 'kube-root-ca.crt', items: [{ key: 'ca.crt', path: 'ca.crt' }] } },
          {
            downwardAPI: {
              items: [
                {
                  path: 'namespace',
                  fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.namespace' },
                },
              ],
            },
          },
        ],
        defaultMode: 420,
      },
    };
    spec.volumes = [...(spec.volumes ?? []), volume];
    for (const c of all)
      c.volumeMounts = [
        ...(c.volumeMounts ?? []),
        { name, readOnly: true, mountPath: SA_MOUNT_PATH },
      ];
  }
  const tolerations = spec.tolerations ?? [];
  for (const t of DEFAULT_TOLERATIONS) {
    if (!tolerations.some((x) => x.key === t.key && (x.effect === t.effect || !x.effect)))
      tolerations.push({ ...t });
  }
  spec.tolerations = tolerations;
  spec.priority ??= 0;
  spec.preemptionPolicy ??= 'PreemptLowerPriority';
}

export function qosClass(spec: V1PodSpec): string {
  const cs = [...(spec.initContainers ?? []), ...(spec.containers ?? [])];
  const any = cs.some(
    (c) =>
      Object.keys(c.resources?.requests ?? {}).length > 0 ||
      Object.keys(c.resources?.limits ?? {}).length > 0,
  );
  if (!any) return 'BestEffort';
  const guaranteed = cs.every((c) => {
    const l = c.resources?.limits ?? {};
    const r = c.resources?.requests ?? l;
    return ['cpu', 'memory'].every(
      (k) => l[k] !== undefined && String(r[k] ?? l[k]) === String(l[k]),
    );
  });
  return guaranteed ? 'Guaranteed' : 'Burstable';
}

let nextClusterIp = 1;

/** Scheme defaults, applied to every write (they are idempotent). */
export function applySchemeDefaults(rt: ResourceType, obj: KubeObject): void {
  const o = obj as Record<string, unknown> & { spec?: Record<string, unknown> };
  // Go decodes into structs: a kind with a status always has one.
  if (rt.status) o.status ??= {};
  switch (`${rt.group}/${rt.kind}`) {
    case '/PersistentVolumeClaim': {
      const spec = ((obj as V1PersistentVolumeClaim).spec ??= {});
      spec.volumeMode ??= 'Filesystem';
      if (o.status) (o.status as { phase?: string }).phase ??= 'Pending';
      break;
    }
    case '/PersistentVolume':
      o.spec ??= {};
      o.spec.persistentVolumeReclaimPolicy ??= 'Retain';
      o.spec.volumeMode ??= 'Filesystem';
      if (o.status) (o.status as { phase?: string }).phase ??= 'Pending';
      break;
    case '/Pod':
      if ((obj as V1Pod).spec) defaultPodSpec((obj as V1Pod).spec!);
      break;
    case '/Secret':
      o.type ??= 'Opaque';
      break;
    case '/Namespace':
      o.spec ??= {};
      o.spec.finalizers ??= ['kubernetes'];
      if (obj.metadata!.name) {
        obj.metadata!.labels = {
          ...obj.metadata!.labels,
          'kubernetes.io/metadata.name': obj.metadata!.name,
        };
      }
      if (o.status) (o.status as { phase?: string }).phase ??= 'Active';
      break;
    case '/Service': {
      const spec = ((obj as V1Service).spec ??= {});
      spec.type ??= 'ClusterIP';
      spec.sessionAffinity ??= 'None';
      for (const p of spec.ports ?? []) {
        p.protocol ??= 'TCP';
        p.targetPort ??= p.port;
      }
      if (spec.type !== 'ExternalName') {
        spec.ipFamilies ??= ['IPv4'];
        spec.ipFamilyPolicy ??= 'SingleStack';
        spec.internalTrafficPolicy ??= 'Cluster';
      }
      break;
    }
    case 'apps/Deployment':
      o.spec ??= {};
      o.spec.replicas ??= 1;
      o.spec.revisionHistoryLimit ??= 10;
      o.spec.progressDeadlineSeconds ??= 600;
      o.spec.strategy ??= {
        type: 'RollingUpdate',
        rollingUpdate: { maxUnavailable: '25%', maxSurge: '25%' },
      };
      defaultTemplate(o.spec.template as V1PodTemplateSpec);
      break;
    case 'apps/ReplicaSet':
      o.spec ??= {};
      o.spec.replicas ??= 1;
      defaultTemplate(o.spec.template as V1PodTemplateSpec);
      break;
    case 'batch/Job': {
      const spec = (o.spec ??= {}) as unknown as V1JobSpec;
      spec.parallelism ??= 1;
      spec.completions ??= 1;
      spec.backoffLimit ??= 6;
      spec.completionMode ??= 'NonIndexed';
      spec.suspend ??= false;
      defaultTemplate(spec.template);
      break;
    }
    case 'storage.k8s.io/StorageClass':
      o.reclaimPolicy ??= 'Delete';
      o.volumeBindingMode ??= 'Immediate';
      break;
    case 'admissionregistration.k8s.io/MutatingWebhookConfiguration':
    case 'admissionregistration.k8s.io/ValidatingWebhookConfiguration':
      for (const w of (o.webhooks as Record<string, unknown>[] | undefined) ?? []) {
        w.failurePolicy ??= 'Fail';
        w.matchPolicy ??= 'Equivalent';
        w.namespaceSelector ??= {};
        w.objectSelector ??= {};
        w.timeoutSeconds ??= 10;
        if (rt.kind === 'MutatingWebhookConfiguration') w.reinvocationPolicy ??= 'Never';
        for (const r of (w.rules as Record<string, unknown>[] | undefined) ?? []) r.scope ??= '*';
        const svc = (w.clientConfig as { service?: { port?: number } } | undefined)?.service;
        if (svc) svc.port ??= 443;
      }
      break;
  }
}

/** Resources whose metadata.generation the server maintains. */
export function tracksGeneration(rt: ResourceType): boolean {
  return (
    ['apps', 'batch', 'admissionregistration.k8s.io', 'snapshot.storage.k8s.io'].includes(
      rt.group,
    ) || rt.resource === 'persistentvolumes'
  );
}

/** The create-only admission plugins that run before webhooks: ServiceAccount, DefaultTolerationSeconds, Priority, StorageObjectInUseProtection. */
export function admitCreate(rt: ResourceType, obj: KubeObject, random?: () => number): void {
  const meta = obj.metadata!;
  switch (`${rt.group}/${rt.kind}`) {
    case '/PersistentVolumeClaim':
      meta.finalizers = addFinalizer(meta.finalizers, 'kubernetes.io/pvc-protection');
      break;
    case '/PersistentVolume':
      meta.finalizers = addFinalizer(meta.finalizers, 'kubernetes.io/pv-protection');
      break;
    case '/Pod':
      if ((obj as V1Pod).spec) admitNewPod(obj as V1Pod, random);
      break;
  }
}

/**
 * The strategies' PrepareForCreate, which kube-apiserver runs after mutating
 * webhooks: status starts over (PVCs show `status: {}` to validating webhooks,
 * the phase comes back from defaulting when stored), generation starts at 1.
 */
export function prepareForCreate(rt: ResourceType, obj: KubeObject): void {
  const o = obj as Record<string, unknown>;
  if (rt.status) o.status = {};
  switch (`${rt.group}/${rt.kind}`) {
    case '/Pod': {
      const pod = obj as V1Pod;
      pod.status = { phase: 'Pending', qosClass: qosClass(pod.spec ?? { containers: [] }) };
      break;
    }
    case '/Namespace':
      o.status = { phase: 'Active' };
      break;
    case '/Service': {
      const spec = (obj as V1Service).spec ?? {};
      if (spec.type !== 'ExternalName' && !spec.clusterIP) {
        const n = nextClusterIp++;
        spec.clusterIP = `10.96.${Math.floor(n / 250)}.${(n % 250) + 1}`;
        spec.clusterIPs = [spec.clusterIP];
      }
      o.status = { loadBalancer: {} };
      break;
    }
    case 'batch/Job': {
      const spec = (obj as { spec?: V1JobSpec }).spec;
      const uid = obj.metadata!.uid!;
      if (spec && !spec.manualSelector && !spec.selector) {
        spec.selector = { matchLabels: { 'controller-uid': uid } };
        const t = spec.template;
        if (t) {
          t.metadata ??= {};
          t.metadata.labels = {
            ...t.metadata.labels,
            'controller-uid': uid,
            'job-name': obj.metadata!.name!,
          };
        }
      }
      break;
    }
  }
  if (tracksGeneration(rt)) obj.metadata!.generation = 1;
}

function addFinalizer(list: string[] | undefined, f: string): string[] {
  const l = list ?? [];
  return l.includes(f) ? l : [...l, f];
}
