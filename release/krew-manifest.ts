// The krew Plugin manifest of a release, and the rules krew applies to one.
// Pure: release/build supplies the archives' real sums; the tests check both
// the generated and the committed manifest with validateKrewManifest.
import { parse, stringify } from 'yaml';

export const krewApiVersion = 'krew.googlecontainertools.github.com/v1alpha2';
export const pluginName = 'scribe';
export const repository = 'https://github.com/backube/scribe';

export type Os = 'linux' | 'darwin';
export type Arch = 'amd64' | 'arm64';
export interface Target {
  os: Os;
  arch: Arch;
}

/** Every platform a release ships (krew-index.yaml lists each once). */
export const releaseTargets: readonly Target[] = [
  { os: 'linux', arch: 'amd64' },
  { os: 'linux', arch: 'arm64' },
  { os: 'darwin', arch: 'amd64' },
  { os: 'darwin', arch: 'arm64' },
];

export const targetName = (t: Target): string => `${t.os}/${t.arch}`;

export function parseTarget(s: string): Target {
  const [os, arch, extra] = s.split('/');
  const t = releaseTargets.find((r) => r.os === os && r.arch === arch);
  if (!t || extra !== undefined) {
    throw new Error(
      `unknown platform "${s}"; use one of ${releaseTargets.map(targetName).join(', ')}`,
    );
  }
  return t;
}

export const binName = 'kubectl-scribe';

export function archiveName(version: string, t: Target): string {
  return `${binName}-${version}-${t.os}-${t.arch}.tar.gz`;
}

export function archiveUri(version: string, t: Target): string {
  return `${repository}/releases/download/v${version}/${archiveName(version, t)}`;
}

/** A built archive: the platform and the sha256 of its bytes. */
export interface BuiltArchive {
  target: Target;
  sha256: string;
  /** Files in the archive beside the binary (LICENSE or README.md). */
  extraFiles: readonly string[];
}

interface FileOperation {
  from: string;
  to: string;
}
interface KrewPlatform {
  selector: { matchLabels?: Record<string, string>; matchExpressions?: unknown[] };
  uri: string;
  sha256: string;
  bin: string;
  files?: FileOperation[];
}
export interface KrewPlugin {
  apiVersion: string;
  kind: string;
  metadata: { name: string };
  spec: {
    version: string;
    homepage?: string;
    shortDescription: string;
    description?: string;
    caveats?: string;
    platforms: KrewPlatform[];
  };
}

export function krewManifest(version: string, archives: readonly BuiltArchive[]): KrewPlugin {
  return {
    apiVersion: krewApiVersion,
    kind: 'Plugin',
    metadata: { name: pluginName },
    spec: {
      version: `v${version}`,
      homepage: repository,
      shortDescription: 'Replicate PVC data asynchronously between clusters',
      description: [
        'Scribe replicates the data of PersistentVolumeClaims to one or more other',
        'clusters or namespaces, asynchronously, with rsync over SSH (live, from a clone,',
        'or from a VolumeSnapshot), each destination on its own schedule or on demand.',
        '`kubectl scribe enable pvc` protects a claim (optionally with a quiesce hook for',
        'application-consistent copies, and a read-only copy at the destination, scrubbed',
        "first if you ask), `kubectl scribe status` shows each replication's lag and last",
        'result, `failover`, `reverse` and `migrate` carry out disaster recovery and moves',
        'to other storage, and `kubectl scribe install` installs the in-cluster parts',
        '(webhook and replicator) the plugin relies on.',
        '',
      ].join('\n'),
      caveats: [
        "Replication needs Scribe's in-cluster parts in both clusters. Install them with",
        '',
        '  kubectl scribe install --context SOURCE',
        '  kubectl scribe install --context DESTINATION',
        '',
        'then protect a claim with `kubectl scribe enable pvc NAME --to CONTEXT`.',
        '',
      ].join('\n'),
      platforms: archives.map((a) => ({
        selector: { matchLabels: { os: a.target.os, arch: a.target.arch } },
        uri: archiveUri(version, a.target),
        sha256: a.sha256,
        bin: binName,
        files: [binName, ...a.extraFiles].map((from) => ({ from, to: '.' })),
      })),
    },
  };
}

export function renderKrewManifest(m: KrewPlugin, header: string): string {
  const comment = header
    .trimEnd()
    .split('\n')
    .map((l) => (l ? `# ${l}` : '#'))
    .join('\n');
  return `${comment}\n${stringify(m, { lineWidth: 0 })}`;
}

export function readKrewManifest(text: string): unknown {
  return parse(text) as unknown;
}

// krew's own checks (internal/index/validation in kubernetes-sigs/krew), the
// naming guide's (lowercase words joined by hyphens), and the index's: one
// platform per os/arch, each installing its bin.
const semver =
  /^v(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(-[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?(\+[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?$/;
const windowsReserved = /^(con|prn|aux|nul|com[1-9]|lpt[1-9])$/i;
const knownOs = ['linux', 'darwin', 'windows'];
const knownArch = ['amd64', 'arm64', '386', 'arm', 'ppc64le', 's390x'];

/** What makes the manifest unacceptable to krew; empty when it is valid. */
export function validateKrewManifest(doc: unknown): string[] {
  const problems: string[] = [];
  const m = (doc ?? {}) as Partial<KrewPlugin>;
  if (m.apiVersion !== krewApiVersion) {
    problems.push(
      `apiVersion is ${JSON.stringify(m.apiVersion)}; krew reads only ${krewApiVersion}`,
    );
  }
  if (m.kind !== 'Plugin') problems.push(`kind is ${JSON.stringify(m.kind)}; it must be Plugin`);
  const name = m.metadata?.name;
  if (typeof name !== 'string' || !/^[a-z0-9]+(-[a-z0-9]+)*$/.test(name)) {
    problems.push(
      `metadata.name ${JSON.stringify(name)} must be lowercase words joined by hyphens`,
    );
  } else if (windowsReserved.test(name)) {
    problems.push(`metadata.name ${name} is a reserved file name on Windows`);
  } else if (/^kube(ctl)?-/.test(name)) {
    problems.push(`metadata.name ${name} must not repeat kubectl's prefix`);
  }
  const spec = m.spec;
  if (!spec) return [...problems, 'spec is missing'];
  if (typeof spec.version !== 'string' || !semver.test(spec.version)) {
    problems.push(
      `spec.version ${JSON.stringify(spec.version)} must be a semantic version with a leading v`,
    );
  }
  if (typeof spec.shortDescription !== 'string' || spec.shortDescription.trim() === '') {
    problems.push('spec.shortDescription must be set');
  } else if (/[\r\n]/.test(spec.shortDescription)) {
    problems.push('spec.shortDescription must be one line');
  }
  if (spec.homepage !== undefined && !/^https:\/\//.test(spec.homepage)) {
    problems.push(`spec.homepage ${spec.homepage} must be an https URL`);
  }
  if (!Array.isArray(spec.platforms) || spec.platforms.length === 0) {
    return [...problems, 'spec.platforms must list at least one platform'];
  }
  const seen = new Map<string, number>();
  spec.platforms.forEach((p, i) => {
    const at = `spec.platforms[${i}]`;
    problems.push(...validatePlatform(p, at));
    const labels = p.selector?.matchLabels;
    if (labels?.os && labels.arch) {
      const key = `${labels.os}/${labels.arch}`;
      const first = seen.get(key);
      if (first !== undefined)
        problems.push(`${at} matches ${key} as spec.platforms[${first}] does`);
      else seen.set(key, i);
    }
  });
  return problems;
}

function validatePlatform(p: KrewPlatform, at: string): string[] {
  const problems: string[] = [];
  if (typeof p.uri !== 'string' || !/^https:\/\/\S+\.(tar\.gz|tgz|zip)$/.test(p.uri)) {
    problems.push(`${at}.uri ${JSON.stringify(p.uri)} must be an https URL of a .tar.gz or .zip`);
  }
  if (typeof p.sha256 !== 'string' || !/^[a-f0-9]{64}$/.test(p.sha256)) {
    problems.push(`${at}.sha256 ${JSON.stringify(p.sha256)} must be 64 lowercase hex digits`);
  }
  if (typeof p.bin !== 'string' || p.bin === '') problems.push(`${at}.bin must be set`);
  if (p.files !== undefined) {
    if (!Array.isArray(p.files) || p.files.length === 0) {
      problems.push(`${at}.files must be left out or list at least one file`);
    } else if (p.files.some((f) => !f?.from || !f?.to)) {
      problems.push(`${at}.files: each entry needs from and to`);
    } else if (
      typeof p.bin === 'string' &&
      p.bin !== '' &&
      !p.files.some((f) => f.from === p.bin || (f.from.endsWith(`/${p.bin}`) && f.to === '.'))
    ) {
      problems.push(`${at}.bin ${p.bin} is not among the files installed`);
    }
  }
  const sel = p.selector;
  if (!sel || typeof sel !== 'object') return [...problems, `${at}.selector must be set`];
  const labels = sel.matchLabels;
  const exprs = sel.matchExpressions;
  if (labels === undefined && (!Array.isArray(exprs) || exprs.length === 0)) {
    problems.push(`${at}.selector must not be empty`);
  }
  if (labels !== undefined && Object.keys(labels).length === 0) {
    problems.push(`${at}.selector.matchLabels is empty`);
  }
  if (exprs !== undefined && (!Array.isArray(exprs) || exprs.length === 0)) {
    problems.push(`${at}.selector.matchExpressions is empty`);
  }
  const keys = [
    ...Object.keys(labels ?? {}),
    ...(Array.isArray(exprs) ? exprs.map((e) => (e as { key?: string })?.key) : []),
  ];
  for (const k of keys) {
    if (k !== 'os' && k !== 'arch')
      problems.push(`${at}.selector key ${JSON.stringify(k)}: krew knows only os and arch`);
  }
  if (labels?.os !== undefined && !knownOs.includes(labels.os)) {
    problems.push(`${at}.selector os ${labels.os} is not a GOOS krew runs on`);
  }
  if (labels?.arch !== undefined && !knownArch.includes(labels.arch)) {
    problems.push(`${at}.selector arch ${labels.arch} is not a GOARCH krew runs on`);
  }
  if (labels?.os === 'windows' && typeof p.bin === 'string' && !p.bin.endsWith('.exe')) {
    problems.push(`${at}.bin must end in .exe on windows`);
  }
  return problems;
}
