// A container as a local process. As root it runs in its own mount
// namespace with a root made of the host's top-level directories plus the
// pod's volumes at their mount paths (read-only where the mount says so,
// block devices at their devicePath), so it sees /data and /keys exactly as
// in a pod and nothing is created on the host. Without root it runs with
// container paths rewritten to host paths (pod-plan.ts rewritePaths).

import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { existsSync, realpathSync } from 'node:fs';
import { mkdir, readlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { rewritePaths, type ContainerPlan, type Mount } from './pod-plan.ts';
import { fileURLToPath } from 'node:url';

/** Single-quotes a word for sh. */
export const shq = (s: string): string => `'${s.replaceAll("'", `'\\''`)}'`;

const HOST_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

const DEV_NODES = ['null', 'zero', 'full', 'random', 'urandom', 'tty'];

/**
 * The sh script that builds the container's root in a fresh mount namespace
 * and execs the program in it ("$@"). `root` and `stage` are empty
 * directories of the pod's own; the script mounts over them.
 */
export function mountScript(
  mounts: Mount[],
  root: string,
  stage: string,
  cwd: string,
  keep: string[] = [],
): string {
  const L: string[] = [
    'set -eu',
    // Setup runs with the host's tools; the program gets the container's PATH back.
    'CPATH=${STANDIN_CONTAINER_PATH-}; unset STANDIN_CONTAINER_PATH',
    `export PATH=${HOST_PATH}`,
    'CHROOT=$(command -v chroot)',
    // Recreates directory $1's entries in the (fresh tmpfs) directory $2: directories and
    // files as bind mounts, symlinks as symlinks. $3 names an entry to leave out.
    'replicate() {',
    '  for e in "$1"/* "$1"/.[!.]* "$1"/..?*; do',
    '    [ -e "$e" ] || [ -L "$e" ] || continue',
    '    n=${e##*/}; t="$2/$n"; [ "$n" = "${3:-}" ] && continue',
    '    if [ -L "$e" ]; then ln -s "$(readlink "$e")" "$t"',
    '    elif [ -d "$e" ]; then mkdir "$t"; mount --rbind "$e" "$t"',
    '    else : > "$t"; mount --bind "$e" "$t"; fi',
    '  done',
    '}',
    // Makes directory $1 (inside the new root) writable without touching the host:
    // a tmpfs holding binds of what was there.
    'shadow() {',
    `  s=${shq(stage)}/$(printf %s "$1" | md5sum | cut -c1-12); mkdir -p "$s"`,
    '  mount -t tmpfs -o mode=755 standin "$s"; chmod --reference="$1" "$s"',
    '  replicate "$1" "$s"; mount --move "$s" "$1"',
    '}',
    // Creates path $1 (in the new root) as a directory, or a file when $2 = file.
    'mkpath() {',
    '  p=$1; a=$p',
    '  while [ ! -e "$a" ] && [ ! -L "$a" ]; do a=${a%/*}; done',
    '  if [ "$a" != "$p" ] && ! grep -qs "^standin $a tmpfs " /proc/self/mounts; then shadow "$a"; fi',
    '  if [ "$2" = file ]; then mkdir -p "${p%/*}"; [ -e "$p" ] || : > "$p"; else mkdir -p "$p"; fi',
    '}',
    `R=${shq(root)}`,
    'mount -t tmpfs -o mode=755 standin "$R"',
    'replicate / "$R" dev',
    'mkdir "$R/dev"; mount -t tmpfs -o mode=755,nosuid standin "$R/dev"',
    `for d in ${DEV_NODES.join(' ')}; do : > "$R/dev/$d"; mount --bind "/dev/$d" "$R/dev/$d"; done`,
    'mkdir "$R/dev/pts" "$R/dev/shm"; mount --rbind /dev/pts "$R/dev/pts"; mount --rbind /dev/shm "$R/dev/shm"',
    'ln -s /proc/self/fd "$R/dev/fd"; ln -s /proc/self/fd/0 "$R/dev/stdin"',
    'ln -s /proc/self/fd/1 "$R/dev/stdout"; ln -s /proc/self/fd/2 "$R/dev/stderr"',
  ];
  for (const m of mounts) {
    const target = `"$R"${shq(m.containerPath)}`;
    L.push(`mkpath ${target} ${m.kind === 'dir' ? 'dir' : 'file'}`);
    L.push(`mount --bind ${shq(m.hostPath)} ${target}`);
    if (m.readOnly) L.push(`mount -o remount,bind,ro ${target}`);
  }
  // The image's programs (this checkout and its Node.js) stay visible even
  // where a pod mount covers them, e.g. an emptyDir on /tmp over a checkout
  // in /tmp: an image's files are never hidden by the pod's own volumes.
  for (const p of keep) {
    const target = `"$R"${shq(p)}`;
    L.push(
      `if [ ! -e ${target} ]; then mkpath ${target} dir; mount --rbind ${shq(p)} ${target}; fi`,
    );
  }
  L.push('if [ -n "$CPATH" ]; then export PATH="$CPATH"; else unset PATH; fi');
  L.push(`exec "$CHROOT" "$R" /usr/bin/env -C ${shq(cwd)} -- "$@"`);
  return L.join('\n');
}

/**
 * The container root mirrors the host's, so a mount path through a host
 * symlink (/var/run → /run) must be resolved the way the host resolves it;
 * a path below an earlier mount of the pod is left alone.
 */
export function resolveMountPaths(mounts: Mount[]): Mount[] {
  const done: Mount[] = [];
  for (const m of mounts) {
    const under = done.some(
      (d) =>
        m.containerPath === d.containerPath || m.containerPath.startsWith(`${d.containerPath}/`),
    );
    let path = m.containerPath;
    if (!under) {
      let prefix = path;
      while (!existsSync(prefix)) prefix = dirname(prefix);
      path = join(realpathSync(prefix), path.slice(prefix.length));
    }
    done.push({ ...m, containerPath: path });
  }
  return done;
}

export interface ContainerProcess {
  pid: number;
  startedAt: Date;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** SIGTERM, then SIGKILL after graceMs. Resolves when it has exited. Idempotent. */
  stop(graceMs: number): Promise<void>;
  /**
   * Starts a command beside the container's program (pods/exec): in its mount
   * namespace, root and working directory, with the container's environment.
   * Its own process group, so killing it ends what it started.
   */
  exec(argv: string[], stdin: boolean): Promise<ChildProcess>;
}

/**
 * The argv that runs `command` inside a running container: nsenter joins the
 * program's mount namespace and takes its root and working directory, so the
 * command sees the container's volumes at their paths. Pure.
 */
export function execArgv(pid: number, command: string[]): string[] {
  return ['nsenter', `--target=${pid}`, '--mount', '--root', '--wd', '--', ...command];
}

/** Where the stand-in's "image" lives on the host: this checkout and the Node.js running it. */
function imagePaths(): string[] {
  const project = realpathSync(fileURLToPath(new URL('../../..', import.meta.url)));
  const node = dirname(realpathSync(process.execPath));
  return node.startsWith(`${project}/`) ? [project] : [project, node];
}

export interface SpawnOptions {
  plan: ContainerPlan;
  /** A directory of this container's own (root and staging mount points go there). */
  dir: string;
  logFile: string;
  cwd: string;
  /** Run in a mount namespace (needs root); else paths are rewritten. */
  namespaces: boolean;
}

export async function spawnContainer(o: SpawnOptions): Promise<ContainerProcess> {
  await mkdir(o.dir, { recursive: true });
  let argv: string[];
  let env = o.plan.env;
  if (o.namespaces) {
    const root = `${o.dir}/root`;
    const stage = `${o.dir}/stage`;
    await mkdir(root, { recursive: true });
    await mkdir(stage, { recursive: true });
    const script = mountScript(resolveMountPaths(o.plan.mounts), root, stage, o.cwd, imagePaths());
    argv = [
      'unshare',
      '--mount',
      '--propagation',
      'private',
      '--',
      '/bin/sh',
      '-c',
      script,
      'sh',
      ...o.plan.argv,
    ];
    env = { ...env, STANDIN_CONTAINER_PATH: env.PATH ?? '', PATH: HOST_PATH };
  } else {
    const rewritten = rewritePaths(o.plan);
    argv = rewritten.argv;
    env = rewritten.env;
  }
  const log = createWriteStream(o.logFile, { flags: 'a' });
  await new Promise<void>((resolve, reject) =>
    log.once('open', () => resolve()).once('error', reject),
  );
  const child = spawn(argv[0] as string, argv.slice(1), {
    cwd: o.cwd,
    env,
    stdio: ['ignore', log, log],
    detached: true, // its own process group: stopping it stops what it started
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('error', (err) => {
      log.write(`failed to start ${argv[0]}: ${err.message}\n`);
      resolve({ code: 128, signal: null });
    });
    child.once('exit', (code, signal) => resolve({ code, signal }));
  }).finally(() => log.end());
  const signal = (s: NodeJS.Signals): void => {
    if (child.pid === undefined) return;
    try {
      process.kill(-child.pid, s);
    } catch {
      // already gone
    }
  };
  let stopping: Promise<void> | undefined;
  const plan = o.plan;
  const namespaces = o.namespaces;
  return {
    async exec(command, stdin) {
      const stdio: ('pipe' | 'ignore')[] = [stdin ? 'pipe' : 'ignore', 'pipe', 'pipe'];
      if (namespaces && child.pid !== undefined) {
        // The process is "running" while its setup script still builds the root: wait for the chroot.
        const root = `/proc/${child.pid}/root`;
        for (let i = 0; i < 200 && (await readlink(root).catch(() => '/')) === '/'; i++)
          await new Promise((r) => setTimeout(r, 50));
        const argv = execArgv(child.pid, command);
        // nsenter is found on the host's PATH; it passes the container's environment on.
        return spawn(`/usr/bin/${argv[0]}`, argv.slice(1), {
          env: plan.env,
          stdio,
          detached: true,
        });
      }
      const rewritten = rewritePaths({ ...plan, argv: command });
      return spawn(rewritten.argv[0] as string, rewritten.argv.slice(1), {
        cwd: o.cwd,
        env: rewritten.env,
        stdio,
        detached: true,
      });
    },
    pid: child.pid ?? -1,
    startedAt: new Date(),
    exited,
    stop(graceMs) {
      stopping ??= (async () => {
        signal('SIGTERM');
        const t = setTimeout(() => signal('SIGKILL'), graceMs);
        await exited;
        clearTimeout(t);
        signal('SIGKILL'); // anything of the group that outlived its leader
      })();
      return stopping;
    },
  };
}
