// Startup benchmark of `kubectl scribe`, against kubectl itself in the same
// run: `kubectl scribe --help` and `version` against `kubectl version
// --client` (target: at most 2.5x, peak RSS under 100 MiB), and `kubectl
// scribe status` against `kubectl get pvc` on one stand-in cluster (target: at
// most 4x). Commands run round-robin, N times each, each a new process; the
// figures are medians. Peak RSS is the child's ru_maxrss from GNU time, which
// covers kubectl and the plugin it execs.
//
//   node bench/plugin/run.ts [--runs N]
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { renderSpec } from '../../model/src/index.ts';
import { startApiServer } from '../../test/standin/api/server.ts';
import { median } from '../median.ts';

const here = import.meta.dirname;
const pluginBin = join(here, '..', '..', 'plugin', 'bin');
const runsArg = process.argv.indexOf('--runs');
const runs = runsArg > 0 ? Number(process.argv[runsArg + 1]) : 20;

interface Case {
  name: string;
  argv: string[];
}

interface Figures {
  medianMs: number;
  minMs: number;
  p90Ms: number;
  peakRssMiB: number;
}

const work = mkdtempSync(join(tmpdir(), 'scribe-bench-plugin-'));
const compileCache = join(work, 'node-compile-cache');
const env = {
  ...process.env,
  PATH: `${pluginBin}:${process.env.PATH}`,
  HOME: work,
  NODE_COMPILE_CACHE: compileCache,
  KUBECONFIG: join(work, 'kubeconfig'),
};

// Asynchronous: the stand-in API server answers from this same process.
function run(
  argv: string[],
  input?: string,
): Promise<{ code: number | null; stdout: string; stderr: string; ms: number }> {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const child = spawn(argv[0]!, argv.slice(1), { env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d));
    child.stderr.on('data', (d: Buffer) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) =>
      resolve({ code, stdout, stderr, ms: Number(process.hrtime.bigint() - t0) / 1e6 }),
    );
    child.stdin.end(input ?? '');
  });
}

async function once(argv: string[]): Promise<{ ms: number; rssKiB: number }> {
  const out = join(work, 'time.out');
  const r = await run(['/usr/bin/time', '-f', '%M', '-o', out, ...argv]);
  if (r.code !== 0) throw new Error(`${argv.join(' ')} exited ${r.code}: ${r.stderr}`);
  return { ms: r.ms, rssKiB: Number(readFileSync(out, 'utf8').trim().split('\n').at(-1)) };
}

async function measure(cases: Case[]): Promise<Record<string, Figures>> {
  const samples = new Map(cases.map((c) => [c.name, [] as { ms: number; rssKiB: number }[]]));
  for (const c of cases) await once(c.argv); // warm the page cache and the compile cache
  for (let i = 0; i < runs; i++) {
    for (const c of cases) samples.get(c.name)!.push(await once(c.argv));
  }
  const out: Record<string, Figures> = {};
  for (const [name, s] of samples) {
    const ms = s.map((x) => x.ms).sort((a, b) => a - b);
    out[name] = {
      medianMs: Math.round(median(ms) * 10) / 10,
      minMs: Math.round(ms[0]! * 10) / 10,
      p90Ms: Math.round(ms[Math.floor(ms.length * 0.9)]! * 10) / 10,
      peakRssMiB: Math.round((Math.max(...s.map((x) => x.rssKiB)) / 1024) * 10) / 10,
    };
  }
  return out;
}

const ratio = (a: Figures, b: Figures) => Math.round((a.medianMs / b.medianMs) * 100) / 100;

async function main(): Promise<void> {
  const server = await startApiServer({ name: 'bench' });
  try {
    await server.writeKubeconfig(env.KUBECONFIG, 'bench');
    const kc = async (args: string[], input?: string) => {
      const r = await run(['kubectl', ...args], input);
      if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')}: ${r.stderr}`);
      return r.stdout;
    };
    // 20 PVCs, half of them replication sources.
    const docs = ['apiVersion: v1\nkind: Namespace\nmetadata: {name: apps}'];
    for (let i = 0; i < 20; i++) {
      const annotations =
        i % 2
          ? {}
          : renderSpec({
              role: 'source',
              method: 'clone',
              destination: { context: 'dr', namespace: 'apps', name: `pvc-${i}` },
              endpoint: '203.0.113.7:2222',
              secret: `scribe-source-pvc-${i}`,
              destinationVolumeMode: 'Filesystem',
              trigger: { kind: 'schedule', cron: '*/15 * * * *' },
              paused: false,
              liveRequiresRwo: false,
              checksumEvery: 10,
            });
      docs.push(
        JSON.stringify({
          apiVersion: 'v1',
          kind: 'PersistentVolumeClaim',
          metadata: { name: `pvc-${i}`, namespace: 'apps', annotations },
          spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } },
        }),
      );
    }
    await kc(['apply', '-f', '-'], docs.join('\n---\n'));

    // The very first start, before any compile cache exists.
    rmSync(compileCache, { recursive: true, force: true });
    mkdirSync(compileCache);
    const firstEver = await once(['kubectl', 'scribe', '--help']);

    const start = await measure([
      { name: 'kubectl version --client', argv: ['kubectl', 'version', '--client'] },
      { name: 'kubectl scribe --help', argv: ['kubectl', 'scribe', '--help'] },
      { name: 'kubectl scribe version', argv: ['kubectl', 'scribe', 'version'] },
      {
        name: 'kubectl-scribe --help (no kubectl)',
        argv: [join(pluginBin, 'kubectl-scribe'), '--help'],
      },
      {
        name: 'kubectl scribe enable pvc --help',
        argv: ['kubectl', 'scribe', 'enable', 'pvc', '--help'],
      },
    ]);
    const status = await measure([
      { name: 'kubectl get pvc', argv: ['kubectl', 'get', 'pvc', '-n', 'apps'] },
      { name: 'kubectl scribe status', argv: ['kubectl', 'scribe', 'status', '-n', 'apps'] },
    ]);

    const base = start['kubectl version --client']!;
    const load = loadavg().map((l) => Math.round(l * 100) / 100);
    const results = {
      date: new Date().toISOString(),
      machine: {
        cpus: cpus().length,
        model: cpus()[0]?.model,
        node: process.version,
        loadAverage: load,
      },
      kubectl: (await kc(['version', '--client'])).split('\n')[0],
      runs,
      startup: start,
      status,
      firstEverStartMs: Math.round(firstEver.ms),
      ratios: {
        helpVsKubectl: ratio(start['kubectl scribe --help']!, base),
        versionVsKubectl: ratio(start['kubectl scribe version']!, base),
        commandHelpVsKubectl: ratio(start['kubectl scribe enable pvc --help']!, base),
        statusVsGetPvc: ratio(status['kubectl scribe status']!, status['kubectl get pvc']!),
      },
      targets: { startupRatio: 2.5, peakRssMiB: 100, statusRatio: 4 },
    };
    const met = {
      help: results.ratios.helpVsKubectl <= 2.5,
      version: results.ratios.versionVsKubectl <= 2.5,
      rss:
        start['kubectl scribe --help']!.peakRssMiB < 100 &&
        start['kubectl scribe version']!.peakRssMiB < 100,
      status: results.ratios.statusVsGetPvc <= 4,
    };
    const outDir = join(here, 'results');
    mkdirSync(outDir, { recursive: true });
    const { format } = await import('prettier');
    // Both files laid out as the repository's formatter would, so lint stays clean.
    writeFileSync(
      join(outDir, 'latest.json'),
      await format(JSON.stringify({ ...results, met }), { parser: 'json' }),
    );
    const row = (name: string, f: Figures) =>
      `| ${name} | ${f.medianMs} | ${f.minMs} | ${f.p90Ms} | ${f.peakRssMiB} |`;
    const md = [
      '# `kubectl scribe` startup',
      '',
      `${results.date}, ${results.machine.cpus} CPUs (${results.machine.model}), Node.js ${results.machine.node}, ${results.kubectl}, load average ${load.join(' ')} at the end (other work shares the machine: the ratios, taken in one run, matter more than the times); ${runs} runs of each command, round-robin, each a new process (after one warm-up run each). Wall time in ms; peak RSS in MiB.`,
      '',
      '| command | median | min | p90 | peak RSS |',
      '|---|---|---|---|---|',
      ...Object.entries(start).map(([n, f]) => row(n, f)),
      ...Object.entries(status).map(([n, f]) => row(n, f)),
      '',
      '| ratio (medians) | value | target | met |',
      '|---|---|---|---|',
      `| \`kubectl scribe --help\` / \`kubectl version --client\` | ${results.ratios.helpVsKubectl}x | ≤ 2.5x | ${met.help ? 'yes' : 'no'} |`,
      `| \`kubectl scribe version\` / \`kubectl version --client\` | ${results.ratios.versionVsKubectl}x | ≤ 2.5x | ${met.version ? 'yes' : 'no'} |`,
      `| peak RSS of \`--help\` and \`version\` | ${Math.max(start['kubectl scribe --help']!.peakRssMiB, start['kubectl scribe version']!.peakRssMiB)} MiB | < 100 MiB | ${met.rss ? 'yes' : 'no'} |`,
      `| \`kubectl scribe status\` / \`kubectl get pvc\` (20 PVCs, one stand-in) | ${results.ratios.statusVsGetPvc}x | ≤ 4x | ${met.status ? 'yes' : 'no'} |`,
      `| \`kubectl scribe enable pvc --help\` (oclif) / \`kubectl version --client\` | ${results.ratios.commandHelpVsKubectl}x | — | — |`,
      '',
      `The very first \`kubectl scribe --help\` after emptying Node's compile cache took ${results.firstEverStartMs} ms.`,
      '',
    ].join('\n');
    const pretty = await format(md, { parser: 'markdown' });
    writeFileSync(join(outDir, 'latest.md'), pretty);
    process.stdout.write(pretty);
  } finally {
    await server.stop();
    rmSync(work, { recursive: true, force: true });
  }
}

await main();
