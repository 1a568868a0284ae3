// manifests-source.ts inside a real Node.js single executable application:
// the module bundled by esbuild, the manifests embedded as SEA assets under
// "manifests/..." (as the release embeds them), injected with postject into a
// copy of this Node.js, and run with an empty environment. The executable
// renders nothing itself: it reports what it extracted, and the test renders
// that with kubectl kustomize against the checkout's rendering.
import { execFile, spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const repo = join(import.meta.dirname, '..', '..');
const bin = join(repo, 'node_modules', '.bin');
const tools =
  spawnSync(join(bin, 'esbuild'), ['--version'], { stdio: 'ignore' }).status === 0 &&
  spawnSync(join(bin, 'postject'), ['--help'], { stdio: 'ignore' }).status === 0;

let dir: string;
let exe: string;

function files(d: string): string[] {
  return readdirSync(d).flatMap((n) => {
    const p = join(d, n);
    return statSync(p).isDirectory() ? files(p) : [p];
  });
}

function run(cmd: string, args: string[], cwd: string): void {
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed: ${r.stderr}`);
}

describe.skipIf(!tools)('manifests from a single executable application', () => {
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'scribe-sea-'));
    const source = join(repo, 'plugin/src/install/manifests-source.ts');
    writeFileSync(
      join(dir, 'entry.ts'),
      `import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { manifestsSource } from ${JSON.stringify(source)};
void (async () => {
  const src = await manifestsSource();
  const kustomization = readFileSync(join(src.root, 'manifests/base/kustomization.yaml'), 'utf8');
  process.stdout.write(JSON.stringify({ origin: src.origin, root: src.root, kustomization }) + '\\n');
  // Kept until stdin closes, so the test can look at the directory.
  process.stdin.resume().on('end', () => void src.release());
})();
`,
    );
    run(
      join(bin, 'esbuild'),
      [
        'entry.ts',
        '--bundle',
        '--platform=node',
        '--format=cjs',
        '--outfile=main.cjs',
        '--log-level=error',
      ],
      dir,
    );
    const assets = Object.fromEntries(
      files(join(repo, 'manifests')).map((f) => [relative(repo, f), f]),
    );
    writeFileSync(
      join(dir, 'sea-config.json'),
      JSON.stringify({
        main: 'main.cjs',
        output: 'sea.blob',
        disableExperimentalSEAWarning: true,
        assets,
      }),
    );
    run(process.execPath, ['--experimental-sea-config', 'sea-config.json'], dir);
    exe = join(dir, 'kubectl-scribe');
    copyFileSync(process.execPath, exe);
    run(
      join(bin, 'postject'),
      [
        exe,
        'NODE_SEA_BLOB',
        'sea.blob',
        '--sentinel-fuse',
        'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2',
      ],
      dir,
    );
  }, 120_000);

  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('writes every manifests/ asset to a temporary directory and removes it after', async () => {
    const child = execFile(exe, [], { env: {}, cwd: dir, timeout: 30_000 });
    const line = await new Promise<string>((resolve, reject) => {
      let out = '';
      child.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.includes('\n')) resolve(out);
      });
      child.once('exit', (code) => reject(new Error(`exited with ${code} before reporting`)));
    });
    const report = JSON.parse(line) as { origin: string; root: string; kustomization: string };
    expect(report.origin).toBe('embedded');
    expect(report.root.startsWith(tmpdir())).toBe(true);
    const embedded = files(join(report.root, 'manifests')).map((f) => relative(report.root, f));
    const checkout = files(join(repo, 'manifests')).map((f) => relative(repo, f));
    expect(embedded.sort()).toEqual(checkout.sort());
    // The same objects as the checkout's.
    const render = (root: string) =>
      spawnSync('kubectl', ['kustomize', join(root, 'manifests/base')], { encoding: 'utf8' })
        .stdout;
    if (spawnSync('kubectl', ['version', '--client'], { stdio: 'ignore' }).status === 0) {
      expect(render(report.root)).toBe(render(repo));
      expect(render(report.root)).toContain('kind: Deployment');
    }
    const exited = new Promise((r) => child.once('exit', r));
    child.stdin!.end();
    await exited;
    expect(() => statSync(report.root)).toThrow();
  }, 60_000);
});
