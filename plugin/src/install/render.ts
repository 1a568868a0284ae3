// Renders the chosen build with the real `kubectl kustomize` (the kustomize
// that kubectl carries, so `kubectl apply -k` and install see the same
// objects) and parses the documents.
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { CliError } from '../errors.ts';
import { kustomizationFor, type Build } from './build.ts';
import type { ManifestObject } from './resources.ts';

function kubectlKustomize(dir: string): Promise<string> {
  const kubectl = process.env.KUBECTL ?? 'kubectl';
  return new Promise((resolve, reject) => {
    execFile(kubectl, ['kustomize', dir], { maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      if (!err) return resolve(stdout);
      const missing = (err as NodeJS.ErrnoException).code === 'ENOENT';
      reject(
        new CliError(
          missing
            ? `cannot run ${kubectl} to render the manifests: put kubectl on PATH (or set KUBECTL)`
            : `${kubectl} kustomize failed: ${stderr.trim() || err.message}`,
          { cause: err },
        ),
      );
    });
  });
}

export function parseManifests(text: string): ManifestObject[] {
  const out: ManifestObject[] = [];
  for (const doc of parseAllDocuments(text)) {
    if (doc.errors.length) throw new CliError(`rendered manifests: ${doc.errors[0]!.message}`);
    const o = doc.toJS() as ManifestObject | null;
    if (o) out.push(o);
  }
  return out;
}

/** The objects of `build` from the manifests/ below `root`, in kustomize's order. */
export async function renderBuild(root: string, build: Build): Promise<ManifestObject[]> {
  // Outside the checkout (which may be read-only); kustomize follows relative
  // paths to other kustomizations wherever they are.
  const dir = await mkdtemp(join(tmpdir(), 'kubectl-scribe-build-'));
  try {
    await writeFile(
      join(dir, 'kustomization.yaml'),
      kustomizationFor(build, join(root, 'manifests'), dir),
    );
    return parseManifests(await kubectlKustomize(dir));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
