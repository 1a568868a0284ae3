// Which kustomize build a server gets (pure): the base on 1.28 and newer
// (webhook matchConditions), the kube-1.24-to-1.27 overlay before, and the
// delete-guard component (ValidatingAdmissionPolicy v1) from 1.30.
import { posix } from 'node:path';
import { CliError } from '../errors.ts';

export interface ServerVersion {
  major: number;
  minor: number;
  gitVersion: string;
}

export const oldestSupported = { major: 1, minor: 24 };

/** /version's answer, as kube-apiserver gives it ("minor" may read "30+" on managed clusters). */
export function parseServerVersion(v: {
  major?: string;
  minor?: string;
  gitVersion?: string;
}): ServerVersion {
  const fromGit = /^v(\d+)\.(\d+)/.exec(v.gitVersion ?? '');
  const major = Number.parseInt(v.major ?? fromGit?.[1] ?? '', 10);
  const minor = Number.parseInt(v.minor ?? fromGit?.[2] ?? '', 10);
  if (!Number.isFinite(major) || !Number.isFinite(minor)) {
    throw new CliError(
      `cannot tell the server's Kubernetes version from /version (${JSON.stringify(v)})`,
    );
  }
  return { major, minor, gitVersion: v.gitVersion ?? `v${major}.${minor}` };
}

export interface Build {
  /** The kustomization directory below manifests/. */
  resource: 'base' | 'overlays/kube-1.24-to-1.27';
  deleteGuard: boolean;
  /** One line for the report: what was chosen and why. */
  why: string;
}

const atLeast = (v: ServerVersion, minor: number) => v.major > 1 || v.minor >= minor;

export function chooseBuild(v: ServerVersion): Build {
  if (!atLeast(v, oldestSupported.minor)) {
    throw new CliError(
      `the server runs Kubernetes ${v.gitVersion}; Scribe supports ${oldestSupported.major}.${oldestSupported.minor} and newer`,
    );
  }
  if (!atLeast(v, 28)) {
    return {
      resource: 'overlays/kube-1.24-to-1.27',
      deleteGuard: false,
      why: 'overlay kube-1.24-to-1.27 (no webhook matchConditions before 1.28)',
    };
  }
  const deleteGuard = atLeast(v, 30);
  return {
    resource: 'base',
    deleteGuard,
    why: deleteGuard
      ? 'base with components/delete-guard'
      : 'base (components/delete-guard needs 1.30)',
  };
}

/**
 * The kustomization that `kubectl kustomize` renders, written in a directory
 * of its own: it points at the chosen build (relative from `at`, since
 * kustomize wants relative resource paths) and adds the component.
 */
export function kustomizationFor(build: Build, manifests: string, at: string): string {
  const rel = (p: string) => posix.relative(at, posix.join(manifests, p));
  const lines = [
    'apiVersion: kustomize.config.k8s.io/v1beta1',
    'kind: Kustomization',
    'resources:',
    `  - ${rel(build.resource)}`,
  ];
  if (build.deleteGuard) lines.push('components:', `  - ${rel('components/delete-guard')}`);
  return `${lines.join('\n')}\n`;
}
