import { createHash } from 'node:crypto';
import type { V1Container, V1ResourceRequirements, V1Volume } from '@kubernetes/client-node';

// The live-copy sidecar: the mover's send loop next to the application, reading
// the same volume. Pure builders; the injection decides where they go.

export type SidecarMode = 'native' | 'container';

export interface SidecarConfig {
  image: string;
  imagePullPolicy?: 'Always' | 'IfNotPresent' | 'Never';
  resources: V1ResourceRequirements;
  mode: SidecarMode;
}

export const DEFAULT_RESOURCES: V1ResourceRequirements = {
  // rsync's file list costs about 100 bytes a file; a million files fit.
  requests: { cpu: '50m', memory: '64Mi' },
  limits: { cpu: '1', memory: '512Mi' },
};

export interface LiveVolume {
  // The pod's volume name and the replication read from its claim.
  volumeName: string;
  claimName: string;
  volumeMode: 'Filesystem' | 'Block';
  endpoint: string;
  secret: string;
  schedule: string;
}

// The files of a source-side key Secret (docs/architecture.md).
export const KEY_DIR = '/etc/scribe/keys';
export const CLIENT_KEY_FILE = 'client_ed25519';
export const KNOWN_HOST_KEY_FILE = 'host_ed25519.pub';

const NAME_PREFIX = 'scribe-live-';
const DNS_LABEL_MAX = 63;

// Container and volume names are DNS labels: the pod's volume name when it
// fits, else a stable digest of it.
export function sidecarName(volumeName: string): string {
  if (NAME_PREFIX.length + volumeName.length <= DNS_LABEL_MAX) return NAME_PREFIX + volumeName;
  return NAME_PREFIX + createHash('sha256').update(volumeName).digest('hex').slice(0, 16);
}

export function keyVolumeName(volumeName: string): string {
  return `${sidecarName(volumeName)}-keys`.slice(0, DNS_LABEL_MAX).replace(/-+$/, '');
}

export function tmpVolumeName(volumeName: string): string {
  return `${sidecarName(volumeName)}-tmp`.slice(0, DNS_LABEL_MAX).replace(/-+$/, '');
}

export function sourcePath(live: LiveVolume): string {
  return live.volumeMode === 'Block' ? '/dev/scribe-source' : '/scribe/source';
}

export function sidecarContainer(live: LiveVolume, config: SidecarConfig): V1Container {
  const path = sourcePath(live);
  const container: V1Container = {
    name: sidecarName(live.volumeName),
    image: config.image,
    imagePullPolicy: config.imagePullPolicy ?? 'IfNotPresent',
    command: [
      'scribe-webhook',
      'live-sync',
      '--schedule',
      live.schedule,
      '--',
      'send',
      '--volume',
      path,
      '--to',
      live.endpoint,
      '--key',
      `${KEY_DIR}/${CLIENT_KEY_FILE}`,
      '--known-host-key',
      `${KEY_DIR}/${KNOWN_HOST_KEY_FILE}`,
      '--json',
    ],
    // A copy: the patch built from this container may be frozen and shared (pod-injection.ts).
    resources: structuredClone(config.resources),
    volumeMounts: [
      { name: keyVolumeName(live.volumeName), mountPath: KEY_DIR, readOnly: true },
      // rsync and ssh want a writable temporary directory; the root is read-only.
      { name: tmpVolumeName(live.volumeName), mountPath: '/tmp' },
    ],
    securityContext: {
      // Reading every file whatever its owner and mode needs root with a DAC
      // override. CAP_DAC_OVERRIDE rather than the narrower CAP_DAC_READ_SEARCH:
      // the baseline Pod Security Standard allows only the former, and writes
      // are impossible anyway (read-only mount, read-only root). The sender
      // only reads ownership, it never sets it.
      runAsUser: 0,
      runAsNonRoot: false,
      privileged: false,
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ['ALL'], add: ['DAC_OVERRIDE'] },
      seccompProfile: { type: 'RuntimeDefault' },
    },
    terminationMessagePolicy: 'FallbackToLogsOnError',
  };
  if (live.volumeMode === 'Block') {
    // A block device has no read-only attachment per container; the mover opens it O_RDONLY.
    container.volumeDevices = [{ name: live.volumeName, devicePath: path }];
  } else {
    container.volumeMounts!.unshift({ name: live.volumeName, mountPath: path, readOnly: true });
  }
  if (config.mode === 'native') container.restartPolicy = 'Always';
  return container;
}

export function sidecarVolumes(live: LiveVolume): V1Volume[] {
  return [
    {
      name: keyVolumeName(live.volumeName),
      secret: {
        secretName: live.secret,
        defaultMode: 0o400,
        items: [
          { key: CLIENT_KEY_FILE, path: CLIENT_KEY_FILE },
          { key: KNOWN_HOST_KEY_FILE, path: KNOWN_HOST_KEY_FILE },
        ],
      },
    },
    { name: tmpVolumeName(live.volumeName), emptyDir: { medium: 'Memory', sizeLimit: '16Mi' } },
  ];
}
