// The webhook under load (not a test): real AdmissionReviews from the captured
// fixtures over TLS, against the webhook process and a minimal express echo
// over the same certificate, in the same run. See README.md beside this file.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { openSync, readFileSync } from 'node:fs';
import { mkdtemp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:https';
import { type AddressInfo, createServer } from 'node:net';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import type { V1Deployment, V1PersistentVolumeClaim } from '@kubernetes/client-node';
import { parse } from 'yaml';
import autocannon from 'autocannon';
import { specKeys } from '../../model/src/index.ts';
import { fakeApi } from '../../test/webhook/support/fake-api.ts';
import { fixtureText } from '../../test/webhook/support/fixtures.ts';
import { scribeShaped } from '../../test/webhook/support/scribe-shaped.ts';
import {
  createCertificateAuthority,
  issueServingCertificate,
} from '../../webhook/src/tls-authority.ts';
import { median } from '../median.ts';

const ROOT = join(import.meta.dirname, '../..');
const RESULTS = join(import.meta.dirname, 'results');
const SECONDS = Number(process.env.BENCH_SECONDS ?? 15);
const WARMUP = Number(process.env.BENCH_WARMUP_SECONDS ?? 3);
const RATE = 500;
// Saturation rounds per server, taking turns: the machine's own drift between
// two 15 s runs was up to ±7%, as much as the gaps being measured.
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
// BENCH_PATHS=mutate (or validate) measures one path only, e.g. to profile it.
const ONLY = (process.env.BENCH_PATHS ?? 'mutate,validate').split(',');
const CONNECTIONS = 10;
// As deployed: the NODE_OPTIONS the webhook's Deployment sets, unless overridden.
function deployedNodeOptions(): string {
  const deployment = parse(
    readFileSync(join(ROOT, 'manifests/base/webhook/deployment.yaml'), 'utf8'),
  ) as V1Deployment;
  const env = deployment.spec?.template.spec?.containers[0]?.env ?? [];
  return env.find((e) => e.name === 'NODE_OPTIONS')?.value ?? '';
}
const WEBHOOK_NODE_OPTIONS = process.env.BENCH_WEBHOOK_NODE_OPTIONS ?? deployedNodeOptions();

const live = { extra: { [specKeys.method]: 'live' } };
const claims = [
  scribeShaped(
    '0002-validate-PersistentVolumeClaim-CREATE--pvc-create-filesystem-annotated.json',
    live,
  ),
  scribeShaped('0004-validate-PersistentVolumeClaim-CREATE--pvc-create-block-annotated.json', live),
].map((r) => r.request.object as V1PersistentVolumeClaim);

// Pod creates, byte-for-byte as captured: each mounts a live claim, so each is patched.
const mutateBodies = [
  '0021-mutate-Pod-CREATE--pod-create-volumemounts.json',
  '0023-mutate-Pod-CREATE--pod-create-existing-initcontainer.json',
  '0025-mutate-Pod-CREATE--pod-create-volumedevices-block.json',
  '0033-mutate-Pod-CREATE--pod-create-by-replicaset-generatename.json',
].map((f) => fixtureText(`admission/${f}`));
// Claim writes: plain (captured), Scribe-shaped valid ones, a vendor method, a denial.
const validateBodies = [
  fixtureText('admission/0006-validate-PersistentVolumeClaim-CREATE--pvc-create-plain.json'),
  JSON.stringify(
    scribeShaped(
      '0002-validate-PersistentVolumeClaim-CREATE--pvc-create-filesystem-annotated.json',
    ),
  ),
  JSON.stringify(
    scribeShaped('0004-validate-PersistentVolumeClaim-CREATE--pvc-create-block-annotated.json'),
  ),
  JSON.stringify(
    scribeShaped('0010-validate-PersistentVolumeClaim-UPDATE--pvc-update-kubectl-annotate.json'),
  ),
  JSON.stringify(
    scribeShaped(
      '0068-validate-PersistentVolumeClaim-UPDATE--pvc-update-kubectl-annotate-during-watch.json',
    ),
  ),
  JSON.stringify(
    scribeShaped(
      '0078-validate-PersistentVolumeClaim-CREATE--pvc-create-denied-by-validating-webhook.json',
    ),
  ),
  JSON.stringify(
    scribeShaped(
      '0002-validate-PersistentVolumeClaim-CREATE--pvc-create-filesystem-annotated.json',
      {
        extra: { [specKeys.schedule]: 'every hour' },
      },
    ),
  ),
];

const PATHS = { mutate: '/mutate/pods', validate: '/validate/persistentvolumeclaims' } as const;
type Path = keyof typeof PATHS;

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}

function get(
  port: number,
  ca: string,
  path: string,
  method = 'GET',
  body?: string,
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        path,
        method,
        ca,
        servername: 'localhost',
        agent: false,
        headers: { 'content-type': 'application/json' },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (text += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

async function waitReady(port: number, ca: string): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      if ((await get(port, ca, '/readyz')).status === 200) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`server on ${port} not ready in 30 s`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function rssKiB(pid: number): Promise<{ rss: number; hwm: number }> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const field = (name: string) =>
    Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 0);
  return { rss: field('VmRSS'), hwm: field('VmHWM') };
}

interface Run {
  target: string;
  path: Path;
  mode: 'rate-500' | 'saturation';
  /** Saturation is measured in rounds, the two servers taking turns. */
  round?: number;
  requestsPerSecond: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  total: number;
  non2xx: number;
  errors: number;
  timeouts: number;
}

async function load(
  port: number,
  path: Path,
  mode: Run['mode'],
  seconds: number,
): Promise<autocannon.Result> {
  const bodies = path === 'mutate' ? mutateBodies : validateBodies;
  return autocannon({
    url: `https://127.0.0.1:${port}`,
    connections: CONNECTIONS,
    duration: seconds,
    ...(mode === 'rate-500' ? { overallRate: RATE } : {}),
    requests: bodies.map((body) => ({
      method: 'POST' as const,
      path: `${PATHS[path]}?timeout=5s`,
      headers: { 'content-type': 'application/json', 'user-agent': 'kube-apiserver-admission' },
      body,
    })),
  });
}

function record(
  target: string,
  path: Path,
  mode: Run['mode'],
  r: autocannon.Result,
  round?: number,
): Run {
  process.stderr.write(
    `${target} ${path} ${mode}${round ? ` round ${round}` : ''}: ${r.requests.average.toFixed(0)} req/s, p50 ${r.latency.p50} ms, p99 ${r.latency.p99} ms, non2xx ${r.non2xx}, errors ${r.errors}\n`,
  );
  return {
    target,
    path,
    mode,
    ...(round ? { round } : {}),
    requestsPerSecond: r.requests.average,
    p50: r.latency.p50,
    p90: r.latency.p90,
    p99: r.latency.p99,
    max: r.latency.max,
    total: r.requests.total,
    non2xx: r.non2xx,
    errors: r.errors,
    timeouts: r.timeouts,
  };
}

/** The process's resident set, sampled every 250 ms until stopped; the peak of it and of VmHWM. */
function sampleMemory(pid: number): { stop(): Promise<{ rss: number; hwm: number }> } {
  let peak = { rss: 0, hwm: 0 };
  const take = (r: { rss: number; hwm: number }) => {
    peak = { rss: Math.max(peak.rss, r.rss), hwm: Math.max(peak.hwm, r.hwm) };
  };
  const sampler = setInterval(() => void rssKiB(pid).then(take), 250);
  return {
    async stop() {
      clearInterval(sampler);
      take(await rssKiB(pid));
      return peak;
    },
  };
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  const t = setTimeout(() => child.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(t);
}

/**
 * BENCH_PIN_CPUS=1: the server under test (baseline or webhook) on CPU 0, this
 * process (autocannon, the fake API) on CPU 1, so that the load generator and
 * the server do not take turns on the same core and the saturation figures
 * are each server's on one core of its own.
 */
const PIN = process.env.BENCH_PIN_CPUS === '1' && cpus().length >= 2;

async function main(): Promise<void> {
  if (PIN) {
    // -a: every thread of this process (libuv's pool and V8's helpers too).
    const r = spawnSync('taskset', ['-a', '-p', '-c', '1', String(process.pid)]);
    if (r.status !== 0) throw new Error(`taskset failed: ${r.stderr?.toString().trim()}`);
  }
  const loadBefore = loadavg()[0]!;
  const dir = await mkdtemp(join(tmpdir(), 'scribe-webhook-bench-'));
  const children: ChildProcess[] = [];
  const api = await fakeApi({ claims });
  try {
    const ca = createCertificateAuthority('bench-ca', { validityDays: 2 });
    const serving = issueServingCertificate(ca, {
      dnsNames: ['localhost'],
      ipAddresses: ['127.0.0.1'],
      validityDays: 1,
    });
    const cert = join(dir, 'tls.crt');
    const key = join(dir, 'tls.key');
    await writeFile(cert, serving.certPem);
    await writeFile(key, serving.keyPem);
    const kubeconfig = await api.writeKubeconfig(dir);

    const results: Run[] = [];
    const memory: Record<string, { rssMiB: number; peakRssMiB: number }> = {};
    const targets: [string, string[]][] = [
      ['baseline', [join(ROOT, 'bench/webhook/baseline.ts')]],
      [
        'webhook',
        [
          join(ROOT, 'webhook/bin/scribe-webhook.ts'),
          '--kubeconfig',
          kubeconfig,
          '--host',
          '127.0.0.1',
          '--tls-cert',
          cert,
          '--tls-key',
          key,
        ],
      ],
    ];
    const servers: { name: string; port: number; child: ChildProcess }[] = [];
    for (const [name, args] of targets) {
      const port = await freePort();
      const argv =
        name === 'baseline'
          ? [...args, String(port), cert, key]
          : [...args, '--port', String(port)];
      const log = join(dir, `${name}.log`);
      // Logs at the default level (info), as in a cluster, to a file.
      // The webhook runs with the V8 options its Deployment sets (NODE_OPTIONS).
      const env =
        name === 'webhook' ? { ...process.env, NODE_OPTIONS: WEBHOOK_NODE_OPTIONS } : process.env;
      const [file, fileArgs] = PIN
        ? ['taskset', ['-c', '0', process.execPath, ...argv]]
        : [process.execPath, argv];
      const child = spawn(file, fileArgs, {
        stdio: ['ignore', 'ignore', openSync(log, 'w')],
        env,
      });
      children.push(child);
      await waitReady(port, ca.certPem);
      // One of each body first: the answers are the ones the tests expect.
      const check = await get(
        port,
        ca.certPem,
        `${PATHS.mutate}?timeout=5s`,
        'POST',
        mutateBodies[0],
      );
      const patched = (JSON.parse(check.body) as { response: { patchType?: string } }).response
        .patchType;
      if (name === 'webhook' && patched !== 'JSONPatch')
        throw new Error(`the webhook did not patch: ${check.body}`);
      servers.push({ name, port, child });
    }
    // Both servers stay up; only the one under load uses the CPU.
    const samplers = servers.map((sv) => sampleMemory(sv.child.pid!));
    for (const path of (['mutate', 'validate'] as const).filter((p) => ONLY.includes(p))) {
      for (const sv of servers) await load(sv.port, path, 'saturation', WARMUP); // JIT and connection warm-up, not recorded
      // At 500/s both servers are loaded at once, each by its own generator:
      // the p99 is set by a handful of stalls (the generator's, the VM's), and
      // measured side by side both servers meet the same ones. Each uses ~3%
      // of its core, so they rarely wait for each other.
      for (let round = 1; round <= ROUNDS; round++) {
        const runs = await Promise.all(
          servers.map((sv) => load(sv.port, path, 'rate-500', SECONDS)),
        );
        servers.forEach((sv, i) =>
          results.push(record(sv.name, path, 'rate-500', runs[i]!, round)),
        );
      }
      // At saturation they take turns: each has the core to itself.
      for (let round = 1; round <= ROUNDS; round++) {
        for (const sv of servers) {
          const r = await load(sv.port, path, 'saturation', SECONDS);
          results.push(record(sv.name, path, 'saturation', r, round));
        }
      }
    }
    for (const [i, sv] of servers.entries()) {
      const peak = await samplers[i]!.stop();
      memory[sv.name] = { rssMiB: peak.rss / 1024, peakRssMiB: peak.hwm / 1024 };
      await stop(sv.child);
    }

    const medianOf = (target: string, path: Path, mode: Run['mode'], of: (r: Run) => number) =>
      median(
        results.filter((r) => r.target === target && r.path === path && r.mode === mode).map(of),
      );
    const saturation = (target: string, path: Path) =>
      medianOf(target, path, 'saturation', (r) => r.requestsPerSecond);
    const p99AtRate = (target: string, path: Path) =>
      medianOf(target, path, 'rate-500', (r) => r.p99);
    const ratios = (['mutate', 'validate'] as const)
      .filter((p) => ONLY.includes(p))
      .map((path) => {
        const p99 = p99AtRate('webhook', path) / p99AtRate('baseline', path);
        const throughput = saturation('webhook', path) / saturation('baseline', path);
        return {
          path,
          p99AtRateRatio: p99,
          saturationThroughputRatio: throughput,
          p99Met: p99 <= 1.5,
          throughputMet: throughput >= 0.8,
        };
      });
    const memoryMet = memory.webhook!.peakRssMiB < 150;
    const report = {
      when: new Date().toISOString(),
      machine: {
        cpus: cpus().length,
        cpu: cpus()[0]?.model,
        memoryGiB: Math.round(totalmem() / 2 ** 30),
        node: process.version,
        // Other work on the machine is noise in these figures: say how much there was.
        loadAverage1mBefore: loadBefore,
        loadAverage1mAfter: loadavg()[0]!,
      },
      method: {
        webhookNodeOptions: WEBHOOK_NODE_OPTIONS,
        pinnedCpus: PIN ? { server: 0, loadGenerator: 1 } : null,
        connections: CONNECTIONS,
        rate: RATE,
        seconds: SECONDS,
        warmupSeconds: WARMUP,
        saturationRounds: ROUNDS,
        mutateBodies: mutateBodies.length,
        validateBodies: validateBodies.length,
      },
      results,
      memory,
      ratios,
      targets: {
        p99AtRateWithin: 1.5,
        saturationThroughputAtLeast: 0.8,
        peakRssMiBUnder: 150,
        memoryMet,
      },
    };
    await mkdir(RESULTS, { recursive: true });
    await writeFile(join(RESULTS, 'latest.json'), `${JSON.stringify(report, null, 2)}\n`);
    const row = (r: Run) =>
      `| ${r.target} | ${r.path} | ${r.mode}${r.round ? ` ${r.round}` : ''} | ${r.requestsPerSecond.toFixed(0)} | ${r.p50} | ${r.p90} | ${r.p99} | ${r.max} | ${r.non2xx} | ${r.errors + r.timeouts} |`;
    const md = [
      '# Webhook benchmark: latest results',
      '',
      `Run ${report.when} on ${report.machine.cpus} × ${report.machine.cpu}, Node.js ${report.machine.node}. Method: README.md beside this folder.`,
      `Load average (1 min) on the machine: ${report.machine.loadAverage1mBefore.toFixed(1)} before, ${report.machine.loadAverage1mAfter.toFixed(1)} after (2 cores; above ~1 other work was running).`,
      `Webhook NODE_OPTIONS (as its Deployment sets them): \`${WEBHOOK_NODE_OPTIONS || 'none'}\`.`,
      PIN
        ? 'CPUs: each server pinned to CPU 0, this benchmark (autocannon and the fake API) to CPU 1 (BENCH_PIN_CPUS=1).'
        : 'CPUs: not pinned; the servers and autocannon share both cores.',
      `${CONNECTIONS} connections, ${SECONDS} s per measurement after a ${WARMUP} s warm-up; fixed rate ${RATE} requests/s (both servers at once), then as fast as the server answers (taking turns); ${ROUNDS} rounds each, ratios from the medians.`,
      '',
      '| target | path | load | req/s | p50 ms | p90 ms | p99 ms | max ms | non-2xx | errors |',
      '| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
      ...results.map(row),
      '',
      '| path | p99 at 500/s (median of the rounds), webhook ÷ baseline (target ≤ 1.5) | saturation req/s (median of the rounds), webhook ÷ baseline (target ≥ 0.8) |',
      '| --- | ---: | ---: |',
      ...ratios.map(
        (r) =>
          `| ${r.path} | ${r.p99AtRateRatio.toFixed(2)} ${r.p99Met ? '(met)' : '(missed)'} | ${r.saturationThroughputRatio.toFixed(2)} ${r.throughputMet ? '(met)' : '(missed)'} |`,
      ),
      '',
      '| process | highest VmRSS sampled, MiB | VmHWM, MiB (target < 150 for the webhook) |',
      '| --- | ---: | ---: |',
      ...Object.entries(memory).map(
        ([k, m]) =>
          `| ${k} | ${m.rssMiB.toFixed(1)} | ${m.peakRssMiB.toFixed(1)}${k === 'webhook' ? (memoryMet ? ' (met)' : ' (missed)') : ''} |`,
      ),
      '',
    ].join('\n');
    await writeFile(join(RESULTS, 'latest.md'), md);
    process.stdout.write(`${md}\n`);
  } finally {
    for (const c of children) await stop(c);
    await api.close();
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
