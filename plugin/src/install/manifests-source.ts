// Where `kubectl scribe install` finds manifests/: in a checkout, the
// repository's own; in the standalone executable (a Node.js single executable
// application), the assets the release embedded under keys "manifests/...",
// written out to a temporary directory for kubectl kustomize to read.
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, normalize, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CliError } from '../errors.ts';

/** A directory holding manifests/, and how to let go of it. */
export interface ManifestsSource {
  /** The directory that contains `manifests/`. */
  root: string;
  /** Where it came from, for the report. */
  origin: 'checkout' | 'embedded';
  release(): Promise<void>;
}

/** node:sea's surface that this module uses (present from Node.js 20.12). */
export interface SeaAssets {
  isSea(): boolean;
  getAssetKeys(): string[];
  getAsset(key: string): ArrayBuffer;
}

export const assetPrefix = 'manifests/';

function nodeSea(): SeaAssets | undefined {
  // getBuiltinModule, not import or require: it works the same in this ESM
  // source and in the release's bundle, whatever format that is.
  const sea = process.getBuiltinModule?.('node:sea') as Partial<SeaAssets> | undefined;
  return typeof sea?.isSea === 'function' && sea.isSea() ? (sea as SeaAssets) : undefined;
}

/** Writes every embedded manifests/ asset below a new temporary directory. */
export async function extractAssets(sea: SeaAssets): Promise<ManifestsSource> {
  if (typeof sea.getAssetKeys !== 'function') {
    throw new CliError(
      'this kubectl-scribe executable cannot list its embedded manifests (Node.js too old); install from a checkout with kubectl apply -k manifests/base',
    );
  }
  const keys = sea.getAssetKeys().filter((k) => k.startsWith(assetPrefix));
  if (keys.length === 0) {
    throw new CliError(
      'this kubectl-scribe executable carries no manifests; use a release build, or kubectl apply -k manifests/base from a checkout',
    );
  }
  const root = await mkdtemp(join(tmpdir(), 'kubectl-scribe-'));
  try {
    for (const key of keys) {
      const path = normalize(join(root, key));
      // An asset key is a relative path; never write outside the directory.
      if (!path.startsWith(`${root}${sep}`) || key.includes('\0')) {
        throw new CliError(`embedded asset "${key}" is not a path below manifests/`);
      }
      await mkdir(dirname(path), { recursive: true });
      await writeFile(path, Buffer.from(sea.getAsset(key)));
    }
  } catch (e) {
    await rm(root, { recursive: true, force: true });
    throw e;
  }
  return {
    root,
    origin: 'embedded',
    release: () => rm(root, { recursive: true, force: true }),
  };
}

/** The repository's manifests/, found from this module's place in the checkout. */
export function checkoutSource(): ManifestsSource {
  const root = fileURLToPath(new URL('../../../', import.meta.url));
  if (!existsSync(join(root, 'manifests', 'base', 'kustomization.yaml'))) {
    throw new CliError(
      `no manifests/ found next to kubectl-scribe (looked in ${root}); run it from a Scribe checkout or a release build`,
    );
  }
  return { root, origin: 'checkout', release: async () => undefined };
}

export async function manifestsSource(
  sea: SeaAssets | undefined = nodeSea(),
): Promise<ManifestsSource> {
  return sea ? extractAssets(sea) : checkoutSource();
}
