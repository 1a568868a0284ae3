// The image's root filesystem, assembled here by image/build --rootfs (the
// same step the Containerfile's build stage runs), run the way a container
// runtime runs it: its own mount and PID namespaces, proc, a tmpfs /tmp, the
// few device nodes a runtime provides, chroot, an empty environment, and the
// capability set of each role's pod.
import { execFile, execFileSync } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  existsSync,
  linkSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeTree } from '../support/tree.ts';
import { ROOT } from './support/kustomize.ts';

const isRoot = process.getuid?.() === 0;
const hasTools = ['unshare', 'setpriv', 'chroot'].every((t) => {
  try {
    execFileSync('sh', ['-c', `command -v ${t}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
});
if (!isRoot || !hasTools)
  console.warn(
    'skipping the image tests: they need root and util-linux (unshare, setpriv) to run the root filesystem in its own namespaces',
  );

// The namespace's first process: mounts what a runtime provides, then runs
// each "step" (capabilities, user, command) in the chroot. Everything mounted
// here goes away with the mount namespace.
const RUNNER = String.raw`
set -eu
root=$1; shift
mount -t proc proc "$root/proc"
mount -t tmpfs -o mode=1777 tmpfs "$root/tmp"
mount -t tmpfs -o mode=755 tmpfs "$root/dev"
for d in null zero random urandom; do touch "$root/dev/$d"; mount --bind "/dev/$d" "$root/dev/$d"; done
mount -t tmpfs -o mode=755 tmpfs "$root/data"
mkdir "$root/data/src" "$root/data/dst" "$root/data/keys"
if [ -n "$SRC" ]; then
  mount --bind "$SRC" "$root/data/src" && mount -o remount,bind,ro "$root/data/src"
  mount --bind "$DST" "$root/data/dst"
fi
# As root: only the given capabilities (and SYS_CHROOT, which chroot needs and
# the programs never use). As another user: none at all (a uid change clears
# them; chroot needs SETUID and SETGID to make it).
in_image() { # CAPS USER CMD...
  caps=$1 user=$2; shift 2
  if [ "$user" = 0:0 ]; then
    setpriv --bounding-set=-all,+sys_chroot$caps --no-new-privs \
      chroot "$root" /usr/bin/env -i PATH=/usr/local/bin:/usr/bin HOME=/tmp "$@"
  else
    setpriv --bounding-set=-all,+sys_chroot,+setuid,+setgid --no-new-privs \
      chroot --userspec="$user" "$root" /usr/bin/env -i PATH=/usr/local/bin:/usr/bin HOME=/tmp "$@"
  fi
}
caps() { # CAPS USER: the effective capabilities a program gets
  in_image "$@" node -e 'console.log(require("fs").readFileSync("/proc/self/status", "utf8").match(/^CapEff:.*$/m)[0])'
}
eval "$SCRIPT"
`;

function inImage(
  rootfs: string,
  script: string,
  env: Record<string, string> = {},
): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      'unshare',
      [
        '--mount',
        '--pid',
        '--fork',
        '--kill-child',
        '--propagation',
        'private',
        'sh',
        '-c',
        RUNNER,
        'runner',
        rootfs,
      ],
      {
        env: { ...process.env, SRC: '', DST: '', ...env, SCRIPT: script },
        timeout: 90_000,
        encoding: 'utf8',
      },
      (err, stdout, stderr) =>
        err
          ? reject(new Error(`${err.message}\n${stdout}\n${stderr}`))
          : resolve(`${stdout}${stderr}`),
    );
  });
}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

describe.skipIf(!isRoot || !hasTools)('the container image (root filesystem)', () => {
  let tmp: string;
  let rootfs: string;
  let buildSeconds = 0;

  beforeAll(() => {
    tmp = mkdtempSync(join(tmpdir(), 'scribe-image-'));
    rootfs = join(tmp, 'rootfs');
    const t0 = performance.now();
    execFileSync(join(ROOT, 'image/build'), ['--rootfs', rootfs], {
      timeout: 180_000,
      stdio: 'pipe',
    });
    buildSeconds = (performance.now() - t0) / 1000;
  }, 200_000);
  afterAll(() => {
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it('holds the three programs, Node.js, rsync and their libraries, the production dependencies only, and a non-root user', () => {
    const du = execFileSync('du', ['-sm', rootfs], { encoding: 'utf8' });
    const mib = Number(du.split('\t')[0]);
    console.log(`rootfs: ${mib} MiB, assembled in ${buildSeconds.toFixed(1)} s`);
    expect(mib).toBeLessThan(260);
    for (const bin of ['scribe-webhook', 'scribe-replicator', 'scribe-mover', 'node'])
      expect(statSync(join(rootfs, 'usr/local/bin', bin)).mode & 0o111, bin).toBeTruthy();
    for (const bin of ['rsync', 'env', 'sync'])
      expect(existsSync(join(rootfs, 'usr/bin', bin))).toBe(true);
    const modules = join(rootfs, 'opt/scribe/node_modules');
    for (const dep of [
      'ssh2',
      '@kubernetes/client-node',
      'express',
      'node-forge',
      'pino',
      'prom-client',
    ])
      expect(existsSync(join(modules, dep)), dep).toBe(true);
    for (const dev of [
      'vitest',
      'typescript',
      'esbuild',
      'kubernetes-models',
      'eslint',
      'autocannon',
    ])
      expect(existsSync(join(modules, dev)), dev).toBe(false);
    for (const part of ['plugin', 'test', 'bench'])
      expect(existsSync(join(rootfs, 'opt/scribe', part))).toBe(false);
    expect(readFileSync(join(rootfs, 'etc/passwd'), 'utf8')).toContain('scribe:x:65532:65532:');
    expect(statSync(join(rootfs, 'tmp')).mode & 0o7777).toBe(0o1777);
  });

  it('each role starts in it as the non-root user, with no capability, and knows its flags', async () => {
    const out = await inImage(
      rootfs,
      `# In parallel, each to its own file: Node.js starts are most of the time.
       out=$(mktemp -d) pids=""
       for c in scribe-webhook scribe-replicator scribe-mover; do
         in_image "" 65532:65532 $c --help >"$out/$c" 2>&1 &
         pids="$pids $!"
       done
       in_image "" 65532:65532 scribe-webhook --version >"$out/version" 2>&1 & pids="$pids $!"
       in_image "" 65532:65532 scribe-mover crypto-info >"$out/crypto" 2>&1 & pids="$pids $!"
       in_image "" 65532:65532 rsync --version >"$out/rsync" 2>&1 & pids="$pids $!"
       caps "" 65532:65532 >"$out/caps" 2>&1 & pids="$pids $!"
       status=0
       for pid in $pids; do wait "$pid" || status=1; done
       cat "$out"/*
       rm -rf "$out"
       exit $status`,
    );
    expect(out).toContain('Usage: scribe-webhook');
    expect(out).toContain('--sidecar-image');
    expect(out).toContain('Usage: scribe-replicator');
    expect(out).toContain('--metrics-port');
    expect(out).toContain('Usage: scribe-mover');
    const version = (
      JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }
    ).version;
    expect(out).toMatch(new RegExp(`^${version.replace(/\./g, '\\.')}$`, 'm'));
    // ssh2's native binding loads (its libraries are in the image).
    expect(out).toContain('"nativeBinding":true');
    // The mover's #! line passes its V8 flags through the image's env (-S).
    expect(out).toContain('"nodeFlags":["--max-semi-space-size=1"]');
    expect(out).toMatch(/rsync\s+version 3\./);
    expect(out).toMatch(/^CapEff:\s+0{16}$/m);
  });

  it("the mover sends and receives in it with its pods' capabilities: owners, modes, links, times, xattrs and ACLs arrive", async () => {
    const src = join(tmp, 'src');
    const dst = join(tmp, 'dst');
    mkdirSync(join(src, 'dir/sub'), { recursive: true });
    mkdirSync(dst);
    writeFileSync(join(src, 'dir/secret'), 'only its owner reads this\n');
    chownSync(join(src, 'dir/secret'), 1234, 5678);
    chmodSync(join(src, 'dir/secret'), 0o600);
    writeFileSync(join(src, 'dir/sub/setgid-tool'), Buffer.alloc(70_000, 7));
    chownSync(join(src, 'dir/sub/setgid-tool'), 0, 4242);
    chmodSync(join(src, 'dir/sub/setgid-tool'), 0o2750);
    chownSync(join(src, 'dir/sub'), 4321, 4321);
    chmodSync(join(src, 'dir/sub'), 0o700);
    linkSync(join(src, 'dir/secret'), join(src, 'hardlink'));
    symlinkSync('dir/secret', join(src, 'link'));
    utimesSync(
      join(src, 'dir/secret'),
      new Date('2020-01-02T03:04:05Z'),
      new Date('2020-01-02T03:04:05Z'),
    );
    // A temporary directory on a filesystem without user xattrs or ACLs (an
    // old tmpfs) still tests the rest.
    const tried = (cmd: string, args: string[]) => {
      try {
        execFileSync(cmd, args, { stdio: 'pipe' });
        return true;
      } catch {
        console.warn(`${cmd} failed on ${tmp}: not checking it`);
        return false;
      }
    };
    const xattrs = tried('setfattr', ['-n', 'user.scribe', '-v', 'kept', join(src, 'dir/secret')]);
    const acls = tried('setfacl', ['-m', 'u:777:r', join(src, 'dir/secret')]);
    const port = await freePort();
    const keys = '/data/keys';
    const out = await inImage(
      rootfs,
      `caps ",+chown,+dac_override,+fowner,+fsetid" 0:0
       caps ",+dac_override" 0:0
       in_image "" 0:0 scribe-mover keygen --out ${keys} >/dev/null
       in_image ",+chown,+dac_override,+fowner,+fsetid" 0:0 scribe-mover receive --volume /data/dst \\
         --listen 127.0.0.1:${port} --host-key ${keys}/host_ed25519 \\
         --authorized-key ${keys}/client_ed25519.pub --once --timeout 60 2>/dev/null &
       receiver=$!
       in_image ",+dac_override" 0:0 scribe-mover send --volume /data/src --to 127.0.0.1:${port} \\
         --key ${keys}/client_ed25519 --known-host-key ${keys}/host_ed25519.pub --json 2>/dev/null
       wait $receiver
       echo "receiver exited $?"`,
      { SRC: src, DST: dst },
    );
    const summary = JSON.parse(out.split('\n').find((l) => l.includes('"result"'))!) as {
      result: string;
      files: number;
    };
    // The receiver: CHOWN, DAC_OVERRIDE, FOWNER, FSETID; the sender: DAC_OVERRIDE (+ SYS_CHROOT).
    expect(out.match(/^CapEff:\s+\w+$/gm)).toEqual([
      'CapEff:\t000000000004001b',
      'CapEff:\t0000000000040002',
    ]);
    expect(summary.result).toBe('succeeded');
    expect(out).toContain('receiver exited 0');
    expect(existsSync(join(dst, '.scribe/complete.json'))).toBe(true);
    const strip = (m: Awaited<ReturnType<typeof describeTree>>) =>
      [...m].map(([p, f]) => [
        p,
        { ...f, atimeNs: 0n, blocks: null, ...(p === '' ? { mtimeNs: 0n } : {}) },
      ]);
    const [a, b] = await Promise.all([
      describeTree(src),
      describeTree(dst, { exclude: ['.scribe'] }),
    ]);
    expect(strip(b)).toEqual(strip(a));
    if (acls) expect(a.get('dir/secret')!.acl).not.toBeNull();
    if (xattrs) expect(a.get('dir/secret')!.xattrs).not.toEqual({});
  });
});

describe('image/build', () => {
  const build = join(ROOT, 'image/build');
  const run = (args: string[], env: NodeJS.ProcessEnv = process.env) => {
    try {
      return { code: 0, out: execFileSync(build, args, { encoding: 'utf8', env, stdio: 'pipe' }) };
    } catch (err) {
      const e = err as { status: number; stderr: string };
      return { code: e.status, out: e.stderr };
    }
  };

  it('refuses unknown arguments and bad versions, and says what to do without a container engine', () => {
    expect(run(['--bogus'])).toMatchObject({
      code: 1,
      out: expect.stringContaining('error: unknown argument "--bogus"'),
    });
    expect(run(['--set-manifests-version', '1.2'])).toEqual({
      code: 1,
      out: 'error: "1.2" is not a version (e.g. 0.2.0)\n',
    });
    const engines = ['docker', 'podman', 'buildah'].filter((e) => {
      try {
        execFileSync('sh', ['-c', `command -v ${e}`], { stdio: 'ignore' });
        return true;
      } catch {
        return false;
      }
    });
    if (engines.length === 0) {
      const env = { ...process.env };
      delete env['CONTAINER_ENGINE'];
      expect(run([], env)).toEqual({
        code: 1,
        out: 'error: no container engine found (docker, podman or buildah); image/build --rootfs DIR assembles the root filesystem without one\n',
      });
    }
  });

  it('--set-manifests-version sets the tag every build deploys', () => {
    const tmp = mkdtempSync(join(tmpdir(), 'scribe-release-'));
    try {
      mkdirSync(join(tmp, 'image'));
      execFileSync('cp', ['-r', join(ROOT, 'manifests'), join(ROOT, 'package.json'), tmp]);
      execFileSync('cp', [build, join(tmp, 'image/build')]);
      execFileSync(join(tmp, 'image/build'), ['--set-manifests-version', '2.3.4-rc.1']);
      const out = execFileSync(
        'kubectl',
        ['kustomize', join(tmp, 'manifests/overlays/cert-manager')],
        {
          encoding: 'utf8',
          timeout: 60_000,
        },
      );
      const refs = out.match(/ghcr\.io\/backube\/scribe\S*/g);
      expect(new Set(refs)).toEqual(new Set(['ghcr.io/backube/scribe:2.3.4-rc.1']));
      expect(refs!.length).toBe(4); // two containers, two SCRIBE_IMAGE variables
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  });
});
