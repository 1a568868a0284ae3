// Another platform's Node.js binary for a single executable, from the npm
// registry: the same official builds the `node` package installs (this machine
// reaches no other download site). npm checks each tarball against the
// registry's sha512 integrity before it writes it, and the binary is cached
// per version, so a build is reproducible and fetches once.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Target } from './krew-manifest.ts';

/** The npm package holding a platform's official Node.js build. */
export function nodePackage(t: Target): string {
  return `node-${t.os}-${t.arch === 'amd64' ? 'x64' : 'arm64'}`;
}

/**
 * Whether the registry carries a platform at all. It has no darwin-arm64
 * package, and darwin binaries must be re-signed on macOS anyway.
 */
export function fetchable(t: Target): boolean {
  return t.os === 'linux';
}

export class FetchError extends Error {}

/** The cached binary's path for this platform and version, fetching it first if needed. */
export function fetchNode(t: Target, version: string, cacheDir: string): string {
  const dir = join(cacheDir, `${nodePackage(t)}-v${version}`);
  const node = join(dir, 'node');
  if (existsSync(node)) return node;
  const spec = `${nodePackage(t)}@${version}`;
  mkdirSync(cacheDir, { recursive: true });
  const tmp = mkdtempSync(join(cacheDir, '.fetch-'));
  try {
    const pack = spawnSync(
      'npm',
      ['pack', spec, '--pack-destination', tmp, '--json', '--loglevel=error'],
      { encoding: 'utf8', maxBuffer: 1 << 24 },
    );
    if (pack.error) throw new FetchError(`npm pack ${spec}: ${pack.error.message}`);
    if (pack.status !== 0) {
      const said = pack.stderr.trim();
      throw new FetchError(
        /E404|No matching version|notarget/i.test(said)
          ? `${spec} is not on the npm registry: pass --node ${t.os}/${t.arch}=PATH with the official Node.js v${version} binary`
          : `could not fetch ${spec} from the npm registry: ${said || `npm exited with ${pack.status}`}`,
      );
    }
    const [{ filename }] = JSON.parse(pack.stdout) as [{ filename: string }];
    const tar = spawnSync('tar', ['-xzf', join(tmp, filename), '-C', tmp, 'package/bin/node'], {
      encoding: 'utf8',
    });
    if (tar.status !== 0) throw new FetchError(`${spec} holds no bin/node: ${tar.stderr.trim()}`);
    mkdirSync(dir, { recursive: true });
    // A rename: a build killed halfway leaves no half-written binary in the cache.
    renameSync(join(tmp, 'package/bin/node'), node);
    return node;
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}
