// Scale benchmark of the replicator: N replicated source claims (default
// 1,000) on one stand-in API server, with every-other-minute cron schedules
// staggered so that half of them fire at each minute boundary. The real
// replicator (bin/scribe-replicator.ts, a process of its own, the default
// 5 s interval) drives them; no pods run: the benchmark plays the Job
// controller and marks each sender Job succeeded as soon as it sees it, so
// syncs start, finish and start again at the replicator's pace. Reported for
// this checkout and, in the same run, for the named baseline: the replicator
// as of commit 9ebd2d7 (three list calls per source claim per pass),
// extracted with git archive:
// - resident memory (VmRSS) of the replicator process, peak and at the end;
// - API requests per pass (a counting HTTP proxy in front of the stand-in;
//   a pass begins with the replicator's read of its Lease), and lists per pass;
// - pass duration (the Lease read to the pass's last request);
// - how late syncs start: the start the replicator records minus the
//   next-sync time it had recorded before (p50, p99, max), and missed intervals.
//
//   node bench/replicator/run.ts [--pvcs N] [--boundaries B] [--no-baseline]
//   node bench/replicator/run.ts --render   (latest.md again from latest.json)
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { Agent, request as httpsRequest } from 'node:https';
import type { AddressInfo } from 'node:net';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { renderSpec, parseStatus } from '../../model/src/index.ts';
import { startApiServer, type ApiServer } from '../../test/standin/api/server.ts';
import { call, type Conn } from '../../test/standin/api/testing.ts';

const ROOT = join(import.meta.dirname, '..', '..');
const BASELINE_COMMIT = '9ebd2d706aaf5d2c52f95378148b8ceda3a2d309';
const NAMESPACES = 10;

const { values } = parseArgs({
  options: {
    pvcs: { type: 'string', default: '1000' },
    boundaries: { type: 'string', default: '2' },
    'no-baseline': { type: 'boolean', default: false },
    render: { type: 'boolean', default: false },
    out: { type: 'string', default: join(import.meta.dirname, 'results') },
  },
});
const PVCS = Number(values.pvcs);
const BOUNDARIES = Number(values.boundaries);

interface Variant {
  name: string;
  /** Directory holding replicator/ and model/. */
  root: string;
  /** NODE_OPTIONS for the replicator process. */
  nodeOptions?: string;
}

/**
 * The heap limit Node.js 24 chooses by itself in the Deployment's 512 MiB
 * memory limit (v8.getHeapStatistics().heap_size_limit in a 512 MiB memory
 * cgroup: 259 MiB), set here as the second variant since the benchmark's
 * replicator runs without that limit.
 */
const CAPPED = '--max-old-space-size=259';

interface Figures {
  variant: string;
  pvcs: number;
  passes: number;
  requestsPerPass: { median: number; max: number };
  listsPerPass: { median: number; max: number };
  passSeconds: { median: number; max: number };
  firstPassSeconds: number;
  rssMiB: { peak: number; end: number };
  /** The largest V8 heap left after a full (mark-compact) collection: the live set. */
  heapAfterFullGcMiB: number;
  fullGcs: number;
  /** The replicator's CPU time over the run, and the run's length. */
  cpuSeconds: number;
  runSeconds: number;
  syncsStarted: number;
  syncsCompleted: number;
  lateSeconds: { p50: number; p99: number; max: number };
  missedIntervals: number;
  /** Due syncs that had not started when the run ended. */
  notStarted: number;
  /** Error lines the replicator logged (failed reconciles, failed passes). */
  errorsLogged: number;
}

const quantile = (xs: number[], q: number): number => {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil(q * s.length) - 1)]!;
};
const round = (x: number, d = 1) => Math.round(x * 10 ** d) / 10 ** d;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A plain-HTTP proxy in front of the stand-in that timestamps every request. */
async function countingProxy(
  api: ApiServer,
): Promise<{ url: string; log: { at: number; method: string; path: string }[]; stop(): void }> {
  const target = new URL(api.url);
  const agent = new Agent({ keepAlive: true, ca: api.caPem, maxSockets: 64 });
  const log: { at: number; method: string; path: string }[] = [];
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    log.push({ at: Date.now(), method: req.method ?? '', path: req.url ?? '' });
    const up = httpsRequest(
      {
        host: target.hostname,
        port: target.port,
        method: req.method,
        path: req.url,
        headers: { ...req.headers, host: target.host },
        agent,
      },
      (r) => {
        res.writeHead(r.statusCode ?? 502, r.headers);
        r.pipe(res);
      },
    );
    up.on('error', () => res.writeHead(502).end());
    req.pipe(up);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    log,
    stop() {
      server.closeAllConnections();
      server.close();
      agent.destroy();
    },
  };
}

function sourceAnnotations(i: number, ns: string): Record<string, string> {
  return renderSpec({
    role: 'source',
    method: 'clone',
    destination: { context: 'dr', namespace: ns, name: `data-${i}` },
    endpoint: '192.0.2.7:2222',
    secret: `scribe-source-data-${i}`,
    destinationVolumeMode: 'Filesystem',
    // Half fire on even minutes, half on odd ones.
    trigger: { kind: 'schedule', cron: `${i % 2}-59/2 * * * *` },
    paused: false,
    liveRequiresRwo: false,
    checksumEvery: 10,
  });
}

async function must(p: Promise<{ status: number; text: string }>, what: string): Promise<void> {
  const r = await p;
  if (r.status >= 300) throw new Error(`${what}: ${r.status} ${r.text}`);
}

async function populate(c: Conn): Promise<void> {
  for (const ns of ['scribe-system', ...Array.from({ length: NAMESPACES }, (_, k) => `app-${k}`)])
    await must(call(c, 'POST', '/api/v1/namespaces', { metadata: { name: ns } }), ns);
  for (let i = 0; i < PVCS; i++) {
    const ns = `app-${i % NAMESPACES}`;
    await must(
      call(c, 'POST', `/api/v1/namespaces/${ns}/persistentvolumeclaims`, {
        metadata: { name: `data-${i}`, annotations: sourceAnnotations(i, ns) },
        spec: {
          accessModes: ['ReadWriteOnce'],
          // No provisioner runs: claims and their clones stay Pending.
          storageClassName: 'bench',
          resources: { requests: { storage: '1Gi' } },
        },
      }),
      `claim ${i}`,
    );
  }
}

interface ClaimList {
  items: {
    metadata: { namespace: string; name: string; annotations?: Record<string, string> };
  }[];
}
interface JobList {
  items: { metadata: { namespace: string; name: string }; status?: { succeeded?: number } }[];
}

/** Plays the Job controller: every sender Job the replicator makes succeeds at once. */
function jobController(c: Conn): { stop(): Promise<void>; completed: () => number } {
  let running = true;
  let completed = 0;
  const loop = (async () => {
    while (running) {
      const r = await call(
        c,
        'GET',
        '/apis/batch/v1/jobs?labelSelector=app.kubernetes.io%2Fcomponent%3Dsender',
      );
      for (const j of (r.json() as JobList).items) {
        if (j.status?.succeeded) continue;
        const now = new Date().toISOString();
        const p = await call(
          c,
          'PATCH',
          `/apis/batch/v1/namespaces/${j.metadata.namespace}/jobs/${j.metadata.name}/status`,
          { status: { succeeded: 1, startTime: now, completionTime: now } },
          { 'Content-Type': 'application/merge-patch+json' },
        );
        if (p.status < 300) completed++;
      }
      await sleep(2000);
    }
  })();
  return {
    completed: () => completed,
    async stop() {
      running = false;
      await loop;
    },
  };
}

const clockTicks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());

/** User + system CPU seconds of a live process. */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  // utime and stime are fields 14 and 15 of the whole line, 12 and 13 after "(comm) ".
  return (Number(fields[11]) + Number(fields[12])) / clockTicks;
}

function rssMiB(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : NaN;
  } catch {
    return NaN;
  }
}

/** A GET of a collection: /api/v1/R, /apis/G/V/R, or either under namespaces/NS/. */
function isList(e: { method: string; path: string }): boolean {
  if (e.method !== 'GET') return false;
  const parts = e.path.split('?')[0]!.split('/').filter(Boolean);
  const rest = parts[0] === 'api' ? parts.slice(2) : parts.slice(3);
  return rest.length === 1 || (rest.length === 3 && rest[0] === 'namespaces');
}

/** The next minute boundary strictly after `t`. */
const nextMinute = (t: number) => Math.floor(t / 60_000) * 60_000 + 60_000;

async function runVariant(v: Variant, work: string): Promise<Figures> {
  const api = await startApiServer({ name: 'bench' });
  const c: Conn = { url: api.url, caPem: api.caPem, token: api.token };
  const proxy = await countingProxy(api);
  const jobs = jobController(c);
  let child: ChildProcess | undefined;
  try {
    await populate(c);
    const kubeconfig = join(work, `${v.name.replace(/\W+/g, '-')}.kubeconfig`);
    writeFileSync(
      kubeconfig,
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'Config',
        // Plain HTTP to the counting proxy on loopback; client-node allows
        // http:// only with this set.
        clusters: [
          { name: 'bench', cluster: { server: proxy.url, 'insecure-skip-tls-verify': true } },
        ],
        users: [{ name: 'bench', user: { token: api.token } }],
        contexts: [{ name: 'bench', context: { cluster: 'bench', user: 'bench' } }],
        'current-context': 'bench',
      }),
    );
    const started = Date.now();
    child = spawn(
      process.execPath,
      [
        // The heap after each full collection (on stdout) tells the live set
        // from what V8 merely has not collected yet.
        '--trace-gc',
        join(v.root, 'replicator', 'bin', 'scribe-replicator.ts'),
        '--kubeconfig',
        kubeconfig,
        '--namespace',
        'scribe-system',
        '--identity',
        'bench',
        '--metrics-port',
        '0',
      ],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
        env: {
          ...process.env,
          NODE_OPTIONS: v.nodeOptions ?? '',
        },
      },
    );
    const liveAfterGc: number[] = [];
    let gcTail = '';
    child.stdout!.on('data', (d: Buffer) => {
      const lines = (gcTail + d.toString()).split('\n');
      gcTail = lines.pop()!;
      for (const l of lines) {
        // "Mark-Compact 45.2 (60.1) -> 30.1 (58.0) MB": the heap used after it.
        const m = /Mark-Compact(?: \(reduce\))? [\d.]+ \([\d.]+\) -> ([\d.]+) \(/.exec(l);
        if (m) liveAfterGc.push(Number(m[1]));
      }
    });
    let stderr = '';
    let errors = 0;
    child.stderr!.on('data', (d: Buffer) => {
      const text = d.toString();
      errors += text.split('"level":50').length - 1;
      // Keep the last lines for a failure report, not the volume.
      stderr = (stderr + text).slice(-4000);
    });
    const pid = child.pid!;
    const rss: number[] = [];
    const sampler = setInterval(() => rss.push(rssMiB(pid)), 1000);

    // Per claim: the next-sync time last seen before a start, and the starts seen.
    const nextSeen = new Map<string, string>();
    const startSeen = new Map<string, string>();
    const late: number[] = [];
    let firstPassDone = 0;
    let missed = 0;
    let dueBy = 0;
    let notStarted = 0;
    const poll = async (): Promise<void> => {
      const list = (await call(c, 'GET', '/api/v1/persistentvolumeclaims')).json() as ClaimList;
      let withNext = 0;
      missed = 0;
      notStarted = 0;
      for (const p of list.items) {
        if (!p.metadata.name.startsWith('data-')) continue;
        const key = `${p.metadata.namespace}/${p.metadata.name}`;
        const st = parseStatus(p.metadata.annotations);
        missed += st.missedIntervals ?? 0;
        if (st.lastSyncStart && st.lastSyncStart !== startSeen.get(key)) {
          const scheduled = nextSeen.get(key);
          if (scheduled && Date.parse(scheduled) <= Date.parse(st.lastSyncStart))
            late.push((Date.parse(st.lastSyncStart) - Date.parse(scheduled)) / 1000);
          startSeen.set(key, st.lastSyncStart);
        }
        if (st.nextSync && st.lastSyncResult !== 'Running') nextSeen.set(key, st.nextSync);
        if (st.nextSync) withNext++;
        if (dueBy && st.nextSync && Date.parse(st.nextSync) <= dueBy) notStarted++;
      }
      if (!firstPassDone && withNext === PVCS) firstPassDone = Date.now();
    };
    const deadline = Date.now() + 5 * 60_000;
    while (!firstPassDone) {
      if (Date.now() > deadline || child.exitCode !== null)
        throw new Error(`${v.name}: the first pass did not finish\n${stderr}`);
      await poll();
      await sleep(3000);
    }
    process.stderr.write(`  first pass done after ${round((firstPassDone - started) / 1000)} s\n`);
    // Measure across B minute boundaries, then let what was due start.
    const end = nextMinute(firstPassDone) + (BOUNDARIES - 1) * 60_000;
    while (Date.now() < end) {
      await poll();
      await sleep(3000);
    }
    // Then at least 30 s (the last syncs run and finish), at most 90 s for
    // what was due to start.
    dueBy = end;
    const tailFrom = Date.now();
    do {
      await sleep(3000);
      await poll();
    } while (Date.now() - tailFrom < 30_000 || (notStarted > 0 && Date.now() - tailFrom < 90_000));
    clearInterval(sampler);
    const rssEnd = rssMiB(pid);
    const cpu = cpuSeconds(pid);

    // Passes: from one Lease read to the next.
    const leaseRead = (e: { method: string; path: string }) =>
      e.method === 'GET' && e.path.includes('/leases/scribe-replicator');
    const log = proxy.log.filter((e) => e.at >= started);
    const starts = log.flatMap((e, i) => (leaseRead(e) ? [i] : []));
    const passes: { requests: number; lists: number; seconds: number }[] = [];
    for (let k = 0; k + 1 < starts.length; k++) {
      const span = log.slice(starts[k]!, starts[k + 1]!);
      // The stand-in's own calls never pass the proxy; the last request of a
      // pass is the one before the idle interval.
      passes.push({
        requests: span.length,
        lists: span.filter(isList).length,
        seconds: (span.at(-1)!.at - span[0]!.at) / 1000,
      });
    }
    if (process.env.BENCH_DEBUG) {
      const byKind = new Map<string, number>();
      for (const e of log) {
        const k = `${e.method} ${e.path.split('?')[0]!.replace(/data-\d+[^/]*|app-\d+/g, 'X')}`;
        byKind.set(k, (byKind.get(k) ?? 0) + 1);
      }
      process.stderr.write(`${JSON.stringify([...byKind], null, 1)}\n${JSON.stringify(passes)}\n`);
    }
    const steady = passes.slice(1); // the first pass writes every claim's next-sync time
    return {
      variant: v.name,
      pvcs: PVCS,
      passes: steady.length,
      requestsPerPass: {
        median: quantile(
          steady.map((p) => p.requests),
          0.5,
        ),
        max: Math.max(...steady.map((p) => p.requests)),
      },
      listsPerPass: {
        median: quantile(
          steady.map((p) => p.lists),
          0.5,
        ),
        max: Math.max(...steady.map((p) => p.lists)),
      },
      passSeconds: {
        median: round(
          quantile(
            steady.map((p) => p.seconds),
            0.5,
          ),
          2,
        ),
        max: round(Math.max(...steady.map((p) => p.seconds)), 2),
      },
      firstPassSeconds: round(passes[0]?.seconds ?? NaN, 2),
      rssMiB: { peak: round(Math.max(...rss.filter(Number.isFinite))), end: round(rssEnd) },
      heapAfterFullGcMiB: round(Math.max(...liveAfterGc)),
      fullGcs: liveAfterGc.length,
      cpuSeconds: round(cpu),
      runSeconds: round((Date.now() - started) / 1000),
      syncsStarted: late.length,
      syncsCompleted: jobs.completed(),
      lateSeconds: {
        p50: round(quantile(late, 0.5)),
        p99: round(quantile(late, 0.99)),
        max: round(Math.max(...late)),
      },
      missedIntervals: missed,
      notStarted,
      errorsLogged: errors,
    };
  } finally {
    child?.kill('SIGTERM');
    await jobs.stop();
    proxy.stop();
    await api.stop();
  }
}

/** The baseline's sources, from git, next to this checkout's dependencies. */
function baselineTree(work: string): string {
  const dir = join(work, 'baseline');
  mkdirSync(dir);
  const tar = execFileSync('git', [
    '-C',
    ROOT,
    'archive',
    BASELINE_COMMIT,
    'replicator',
    'model',
    'package.json',
  ]);
  execFileSync('tar', ['-x', '-C', dir], { input: tar });
  symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'));
  return dir;
}

function markdown(figs: Figures[], meta: Record<string, unknown>): string {
  const row = (f: Figures) =>
    `| ${f.variant} | ${f.pvcs} | ${f.rssMiB.peak} / ${f.rssMiB.end} | ${f.heapAfterFullGcMiB} (${f.fullGcs}) | ${f.cpuSeconds} in ${f.runSeconds} | ${f.requestsPerPass.median} / ${f.requestsPerPass.max} | ${f.listsPerPass.median} / ${f.listsPerPass.max} | ${f.passSeconds.median} / ${f.passSeconds.max} | ${f.firstPassSeconds} | ${f.syncsStarted} | ${f.lateSeconds.p50} / ${f.lateSeconds.p99} / ${f.lateSeconds.max} | ${f.missedIntervals} | ${f.notStarted} | ${f.errorsLogged} |`;
  const lines = [
    '# Replicator scale benchmark: latest results',
    '',
    `${String(meta.date)}, ${String(meta.cpus)} CPUs (${String(meta.cpu)}), load average ${String(meta.loadavg)} at the start, Node.js ${String(meta.node)}.`,
    `${String(meta.pvcs)} source claims in ${NAMESPACES} namespaces, cron \`0-59/2\` or \`1-59/2\` (half fire each minute), the replicator's default 5 s interval (and, for this checkout, 4 workers), measured across ${String(meta.boundaries)} minute boundaries after the first pass; sender Jobs marked succeeded by the benchmark (no pods run).`,
    '',
    '| replicator | claims | RSS MiB peak / end | heap after full GC MiB, max (full GCs) | CPU s in run s | requests per pass median / max | lists per pass median / max | pass s median / max | first pass s | syncs started | start late s p50 / p99 / max | missed intervals | due, not started | errors logged |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
    ...figs.map(row),
  ];
  if (figs.length >= 2) {
    const a = figs[0]!;
    const b = figs.at(-1)!;
    const r = (x: number, y: number) => (y ? round(x / y, 3) : NaN);
    lines.push(
      '',
      `This checkout against the baseline: ${r(a.listsPerPass.median, b.listsPerPass.median)}x the list calls per pass, ${r(a.requestsPerPass.median, b.requestsPerPass.median)}x the requests in the median pass and ${r(a.requestsPerPass.max, b.requestsPerPass.max)}x in the busiest, ${r(a.passSeconds.max, b.passSeconds.max)}x the longest pass, ${r(a.rssMiB.peak, b.rssMiB.peak)}x the peak RSS, ${r(a.heapAfterFullGcMiB, b.heapAfterFullGcMiB)}x the heap after full GC, ${r(a.cpuSeconds, b.cpuSeconds)}x the CPU time, ${r(a.lateSeconds.p99, b.lateSeconds.p99)}x the p99 start delay.`,
    );
  }
  lines.push(
    '',
    'Requests per pass exclude the first pass (which writes every claim its next-sync time). A start is late by the time between the next-sync time the replicator recorded and the start it recorded.',
    '',
  );
  return lines.join('\n');
}

async function main(): Promise<void> {
  if (values.render) {
    // Rewrites latest.md from latest.json (after a change to the report's form).
    const { meta, results } = JSON.parse(readFileSync(join(values.out, 'latest.json'), 'utf8')) as {
      meta: Record<string, unknown>;
      results: Figures[];
    };
    writeFileSync(join(values.out, 'latest.md'), markdown(results, meta));
    return;
  }
  const work = mkdtempSync(join(tmpdir(), 'scribe-bench-replicator-'));
  try {
    const variants: Variant[] = [
      { name: 'this checkout (one list per kind per pass)', root: ROOT },
      {
        name: `this checkout, heap as in a 512 MiB container (${CAPPED})`,
        root: ROOT,
        nodeOptions: CAPPED,
      },
    ];
    if (!values['no-baseline']) {
      variants.push({
        name: `baseline: per-claim lists (${BASELINE_COMMIT.slice(0, 7)})`,
        root: baselineTree(work),
      });
    }
    const meta = {
      date: new Date().toISOString(),
      cpus: cpus().length,
      cpu: cpus()[0]?.model,
      loadavg: loadavg()
        .map((x) => x.toFixed(2))
        .join(' '),
      node: process.version,
      pvcs: PVCS,
      boundaries: BOUNDARIES,
      baselineCommit: BASELINE_COMMIT,
    };
    const figs: Figures[] = [];
    for (const v of variants) {
      process.stderr.write(`${v.name}: ${PVCS} claims...\n`);
      const f = await runVariant(v, work);
      process.stderr.write(`${JSON.stringify(f)}\n`);
      figs.push(f);
    }
    mkdirSync(values.out, { recursive: true });
    writeFileSync(
      join(values.out, 'latest.json'),
      `${JSON.stringify({ meta, results: figs }, null, 2)}\n`,
    );
    const md = markdown(figs, meta);
    writeFileSync(join(values.out, 'latest.md'), md);
    process.stdout.write(md);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

await main();
