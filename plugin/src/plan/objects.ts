// The Kubernetes objects `enable` creates, built from names and choices. Pure.
import type {
  V1Deployment,
  V1PersistentVolumeClaim,
  V1Secret,
  V1Service,
} from '@kubernetes/client-node';
import { keyFiles } from '../../../mover/src/keys.ts';
import { shortened } from '../../../model/src/index.ts';

export const moverPort = 2222;
const keysMount = '/keys';
const dataPath = '/data';

export const managedBy = { 'app.kubernetes.io/managed-by': 'kubectl-scribe' } as const;

export interface ReplicationNames {
  /** Source side: client key + the host's public key. */
  sourceSecret: string;
  /** Destination side: host key + the client's public key. */
  destinationSecret: string;
  /** The destination endpoint's Deployment and Service (a DNS-1035 label). */
  endpoint: string;
}

/**
 * The names for one replication. A source's key Secret is per target (each
 * target has its own keys); the destination's names follow its PVC, which
 * receives from one source only. A further target's Secret has a prefix of
 * its own and the target (a DNS label, no dot) before the first dot, so no
 * other PVC's or target's name can give the same Secret name ("data" with
 * target "lake" is scribe-target-lake.data; the PVC "data-lake" keeps
 * scribe-source-data-lake).
 */
export function replicationNames(
  sourcePvc: string,
  destinationPvc: string,
  target = 'default',
): ReplicationNames {
  const label = (s: string) => s.replace(/\./g, '-');
  return {
    sourceSecret: shortened(
      target === 'default' ? `scribe-source-${sourcePvc}` : `scribe-target-${target}.${sourcePvc}`,
      253,
    ),
    destinationSecret: shortened(`scribe-destination-${destinationPvc}`, 253),
    endpoint: shortened(`scribe-dst-${label(destinationPvc)}`, 63),
  };
}

export interface KeyMaterial {
  client: string;
  clientPub: string;
  host: string;
  hostPub: string;
}

function labels(instance: string): Record<string, string> {
  // A label value holds at most 63 characters; a PVC name may hold 253.
  return {
    ...managedBy,
    'app.kubernetes.io/name': 'scribe',
    'app.kubernetes.io/instance': shortened(instance, 63),
  };
}

/** The claim a key Secret belongs to: deleting the claim deletes the Secret with it. */
export interface SecretOwner {
  name: string;
  uid?: string;
}

function secret(
  name: string,
  namespace: string,
  instance: string,
  files: Record<string, string>,
  owner?: SecretOwner,
): V1Secret {
  const ownerReferences = owner?.uid
    ? [{ apiVersion: 'v1', kind: 'PersistentVolumeClaim', name: owner.name, uid: owner.uid }]
    : undefined;
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: {
      name,
      namespace,
      labels: labels(instance),
      ...(ownerReferences && { ownerReferences }),
    },
    type: 'Opaque',
    // data, not stringData: the API server converts stringData, but not
    // every API server a test plays does, and the bytes are the same.
    data: Object.fromEntries(
      Object.entries(files).map(([k, v]) => [k, Buffer.from(v).toString('base64')]),
    ),
  };
}

/** The files architecture.md gives the source side. */
export function sourceSecret(
  name: string,
  namespace: string,
  pvc: string,
  k: KeyMaterial,
  owner?: SecretOwner,
): V1Secret {
  return secret(
    name,
    namespace,
    pvc,
    { [keyFiles.client]: k.client, [keyFiles.hostPub]: k.hostPub },
    owner,
  );
}

/** The files architecture.md gives the destination side. */
export function destinationSecret(
  name: string,
  namespace: string,
  pvc: string,
  k: KeyMaterial,
  owner?: SecretOwner,
): V1Secret {
  return secret(
    name,
    namespace,
    pvc,
    { [keyFiles.host]: k.host, [keyFiles.clientPub]: k.clientPub },
    owner,
  );
}

export interface DestinationPvcChoice {
  name: string;
  namespace: string;
  storageClassName?: string | undefined;
  accessModes: string[];
  volumeMode: 'Filesystem' | 'Block';
  storage: string;
}

export function destinationPvc(c: DestinationPvcChoice): V1PersistentVolumeClaim {
  return {
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    metadata: { name: c.name, namespace: c.namespace, labels: { ...managedBy } },
    spec: {
      accessModes: c.accessModes,
      volumeMode: c.volumeMode,
      resources: { requests: { storage: c.storage } },
      ...(c.storageClassName !== undefined ? { storageClassName: c.storageClassName } : {}),
    },
  };
}

export interface EndpointChoice {
  name: string;
  namespace: string;
  pvc: string;
  secret: string;
  image: string;
  volumeMode: 'Filesystem' | 'Block';
  serviceType: 'ClusterIP' | 'LoadBalancer' | 'NodePort';
}

/** The mover's receiving side, one replica, with the destination PVC and the key Secret. */
export function endpointDeployment(e: EndpointChoice): V1Deployment {
  const selector = { ...labels(e.pvc), 'app.kubernetes.io/component': 'endpoint' };
  const keys = [{ name: 'keys', mountPath: keysMount, readOnly: true }];
  const mounts =
    e.volumeMode === 'Block'
      ? { volumeDevices: [{ name: 'data', devicePath: dataPath }], volumeMounts: keys }
      : { volumeMounts: [{ name: 'data', mountPath: dataPath }, ...keys] };
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: e.name, namespace: e.namespace, labels: selector },
    spec: {
      replicas: 1,
      // One writer on the volume: the old pod goes before the new one starts.
      strategy: { type: 'Recreate' },
      selector: { matchLabels: selector },
      template: {
        metadata: { labels: selector },
        spec: {
          containers: [
            {
              name: 'receiver',
              image: e.image,
              // The image has no default entrypoint.
              command: ['scribe-mover'],
              args: [
                'receive',
                '--volume',
                dataPath,
                '--listen',
                `0.0.0.0:${moverPort}`,
                '--host-key',
                `${keysMount}/${keyFiles.host}`,
                '--authorized-key',
                `${keysMount}/${keyFiles.clientPub}`,
              ],
              ports: [{ name: 'ssh', containerPort: moverPort, protocol: 'TCP' }],
              ...mounts,
              securityContext: {
                allowPrivilegeEscalation: false,
                capabilities: {
                  drop: ['ALL'],
                  add: ['CHOWN', 'FOWNER', 'DAC_OVERRIDE', 'FSETID', 'MKNOD'],
                },
              },
            },
          ],
          volumes: [
            { name: 'data', persistentVolumeClaim: { claimName: e.pvc } },
            { name: 'keys', secret: { secretName: e.secret, defaultMode: 0o400 } },
          ],
        },
      },
    },
  };
}

/**
 * The claim an existing endpoint receives into: the Deployment's data volume,
 * or the claim the Service selects by. Dots in a claim's name become dashes in
 * the endpoint's name, so "db.main" and "db-main" would share one; enable
 * must not take the other claim's endpoint for its own.
 */
export function endpointClaim(
  deployment: V1Deployment | undefined,
  service: V1Service | undefined,
): { claim: string; exact: boolean } | undefined {
  const volume = deployment?.spec?.template.spec?.volumes?.find((v) => v.name === 'data');
  const claim = volume?.persistentVolumeClaim?.claimName;
  if (claim) return { claim, exact: true };
  const instance = service?.spec?.selector?.['app.kubernetes.io/instance'];
  return instance ? { claim: instance, exact: false } : undefined;
}

export function endpointService(e: EndpointChoice): V1Service {
  const selector = { ...labels(e.pvc), 'app.kubernetes.io/component': 'endpoint' };
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: e.name, namespace: e.namespace, labels: selector },
    spec: {
      type: e.serviceType,
      selector,
      ports: [{ name: 'ssh', port: moverPort, targetPort: 'ssh', protocol: 'TCP' }],
    },
  };
}
