// krew's rules for a Plugin manifest, on the manifest release/build writes
// and the committed krew-index.yaml; each rule must also catch what it forbids.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  archiveName,
  krewManifest,
  type KrewPlugin,
  readKrewManifest,
  releaseTargets,
  validateKrewManifest,
} from '../../release/krew-manifest.ts';

const repo = join(import.meta.dirname, '..', '..');
const version = (
  JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8')) as { version: string }
).version;
const sha = (c: string) => c.repeat(64);

function full(): KrewPlugin {
  return krewManifest(
    version,
    releaseTargets.map((target, i) => ({
      target,
      sha256: sha('abcd'[i]!),
      extraFiles: ['LICENSE'],
    })),
  );
}

describe('the krew manifest', () => {
  it('of a release names all four platforms, each its own archive, and passes krew', () => {
    const m = full();
    expect(validateKrewManifest(m)).toEqual([]);
    expect(m.metadata.name).toBe('scribe');
    expect(m.spec.version).toBe(`v${version}`);
    expect(m.spec.platforms.map((p) => p.selector.matchLabels)).toEqual([
      { os: 'linux', arch: 'amd64' },
      { os: 'linux', arch: 'arm64' },
      { os: 'darwin', arch: 'amd64' },
      { os: 'darwin', arch: 'arm64' },
    ]);
    for (const [i, p] of m.spec.platforms.entries()) {
      const t = releaseTargets[i]!;
      expect(p.uri).toBe(
        `https://github.com/backube/scribe/releases/download/v${version}/${archiveName(version, t)}`,
      );
      expect(p.bin).toBe('kubectl-scribe');
      expect(p.files).toEqual([
        { from: 'kubectl-scribe', to: '.' },
        { from: 'LICENSE', to: '.' },
      ]);
    }
  });

  it('committed at the top level is valid, of this version, and names only archives it can have built', () => {
    const committed = readKrewManifest(readFileSync(join(repo, 'krew-index.yaml'), 'utf8'));
    expect(validateKrewManifest(committed)).toEqual([]);
    const m = committed as KrewPlugin;
    expect(m.spec.version).toBe(`v${version}`);
    expect(m.spec.platforms.length).toBeGreaterThan(0);
    for (const p of m.spec.platforms) {
      const { os, arch } = p.selector.matchLabels!;
      expect(p.uri.endsWith(`/v${version}/kubectl-scribe-${version}-${os}-${arch}.tar.gz`)).toBe(
        true,
      );
    }
    // Generated, not written by hand: everything but the sums is what the script makes.
    const regenerated = krewManifest(
      version,
      m.spec.platforms.map((p) => ({
        target: releaseTargets.find(
          (t) => t.os === p.selector.matchLabels!.os && t.arch === p.selector.matchLabels!.arch,
        )!,
        sha256: p.sha256,
        extraFiles: p.files!.slice(1).map((f) => f.from),
      })),
    );
    expect(m).toEqual(regenerated);
  });

  const broken: [string, (m: KrewPlugin) => void, RegExp][] = [
    [
      'another apiVersion',
      (m) => (m.apiVersion = 'krew.googlecontainertools.github.com/v1alpha1'),
      /apiVersion/,
    ],
    ['another kind', (m) => (m.kind = 'Plugins'), /kind/],
    ['a name in camelCase', (m) => (m.metadata.name = 'pvcScribe'), /lowercase/],
    ['a name with an underscore', (m) => (m.metadata.name = 'pvc_scribe'), /lowercase/],
    ['a reserved Windows name', (m) => (m.metadata.name = 'aux'), /reserved/],
    ["kubectl's own prefix", (m) => (m.metadata.name = 'kubectl-scribe'), /prefix/],
    ['a version without v', (m) => (m.spec.version = version), /semantic version/],
    ['a version that is not semver', (m) => (m.spec.version = 'v1.2'), /semantic version/],
    ['no short description', (m) => (m.spec.shortDescription = ''), /shortDescription/],
    ['a short description on two lines', (m) => (m.spec.shortDescription = 'a\nb'), /one line/],
    ['no platforms', (m) => (m.spec.platforms = []), /at least one platform/],
    ['a sum in upper case', (m) => (m.spec.platforms[0]!.sha256 = sha('A')), /sha256/],
    ['a short sum', (m) => (m.spec.platforms[0]!.sha256 = 'abc'), /sha256/],
    [
      'a plain http uri',
      (m) => (m.spec.platforms[0]!.uri = m.spec.platforms[0]!.uri.replace('https', 'http')),
      /uri/,
    ],
    ['no bin', (m) => (m.spec.platforms[0]!.bin = ''), /bin must be set/],
    [
      'a bin no file installs',
      (m) => (m.spec.platforms[0]!.bin = 'kubectl-other'),
      /not among the files/,
    ],
    ['an empty files list', (m) => (m.spec.platforms[0]!.files = []), /files/],
    [
      'a file without to',
      (m) => (m.spec.platforms[0]!.files![0] = { from: 'kubectl-scribe', to: '' }),
      /from and to/,
    ],
    ['an empty selector', (m) => (m.spec.platforms[0]!.selector = {}), /not be empty/],
    [
      'empty matchLabels',
      (m) => (m.spec.platforms[0]!.selector = { matchLabels: {} }),
      /matchLabels is empty/,
    ],
    [
      'a selector key krew ignores',
      (m) => (m.spec.platforms[0]!.selector.matchLabels!.distro = 'alpine'),
      /only os and arch/,
    ],
    [
      'an os krew does not run on',
      (m) => (m.spec.platforms[0]!.selector.matchLabels!.os = 'macos'),
      /GOOS/,
    ],
    [
      'two platforms for darwin/arm64',
      (m) => (m.spec.platforms[2]!.selector.matchLabels!.arch = 'arm64'),
      /as spec.platforms\[2\] does/,
    ],
  ];
  it.each(broken)('with %s is refused', (_what, breakIt, problem) => {
    const m = full();
    breakIt(m);
    const problems = validateKrewManifest(m);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(problem);
  });
});
