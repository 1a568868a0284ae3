// What the user reads: tables, ages, the status rows and sync progress,
// completion answers, and the CLI's own help, version and error lines.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { renderSpec, renderStatus, specKeys } from '../../model/src/index.ts';
import {
  complete,
  renderCompletion,
  type CompletionSource,
} from '../../plugin/src/cli/complete.ts';
import { kubectlTone } from '../../plugin/src/cli/main.ts';
import { age, humanBytes, humanDuration, renderTable } from '../../plugin/src/output/table.ts';
import { lag, replicationRow, statusColumns } from '../../plugin/src/status/rows.ts';
import { syncProgress } from '../../plugin/src/status/sync-progress.ts';

const run = promisify(execFile);
const bin = join(import.meta.dirname, '..', '..', 'plugin', 'bin', 'kubectl-scribe');

describe('tables like kubectl get', () => {
  it('aligns columns, uppercases headers, prints <none>, no trailing spaces', () => {
    const out = renderTable(
      [
        { a: 'x', b: 'long value', c: undefined },
        { a: 'longer', b: '', c: 'z' },
      ],
      [
        { header: 'name', value: (r) => r.a },
        { header: 'last sync', value: (r) => r.b },
        { header: 'c', value: (r) => r.c },
        { header: 'hidden', value: () => 'w', wide: true },
      ],
    );
    expect(out).toBe(
      'NAME     LAST SYNC    C\n' + 'x        long value   <none>\n' + 'longer   <none>       z\n',
    );
  });

  it("ages as kubectl's HumanDuration prints them", () => {
    const cases: [number, string][] = [
      [0, '0s'],
      [59_000, '59s'],
      [119_000, '119s'],
      [120_000, '2m'],
      [330_000, '5m30s'],
      [600_000, '10m'],
      [179 * 60_000, '179m'],
      [3 * 3600_000, '3h'],
      [(3 * 60 + 20) * 60_000, '3h20m'],
      [8 * 3600_000, '8h'],
      [47 * 3600_000, '47h'],
      [2 * 86400_000, '2d'],
      [(2 * 24 + 5) * 3600_000, '2d5h'],
      [400 * 86400_000, '400d'],
      [(2 * 365 + 45) * 86400_000, '2y45d'],
      [10 * 365 * 86400_000, '10y'],
    ];
    for (const [ms, want] of cases) expect(humanDuration(ms), want).toBe(want);
    expect(age('2026-11-26T07:00:00Z', new Date('2026-11-26T07:05:00Z'))).toBe('5m');
    expect(age(undefined, new Date())).toBeUndefined();
    expect(humanBytes(512)).toBe('512B');
    expect(humanBytes(1536)).toBe('1.5Ki');
    expect(humanBytes(20 * 2 ** 20)).toBe('20Mi');
  });
});

describe('status rows', () => {
  const source = renderSpec({
    role: 'source',
    method: 'snapshot',
    destination: { context: 'dr', namespace: 'apps', name: 'data' },
    endpoint: '203.0.113.7:2222',
    secret: 's',
    destinationVolumeMode: 'Filesystem',
    trigger: { kind: 'schedule', cron: '0 * * * *' },
    paused: false,
    liveRequiresRwo: false,
    checksumEvery: 10,
  });
  const pvc = (ann: Record<string, string | null>) => ({
    metadata: {
      name: 'data',
      namespace: 'apps',
      annotations: Object.fromEntries(
        Object.entries(ann).filter((e): e is [string, string] => e[1] !== null),
      ),
    },
  });
  const now = new Date('2026-11-26T08:00:00Z');

  it('a protected source with its last sync, lag and bytes', () => {
    const row = replicationRow(
      pvc({
        ...source,
        ...renderStatus({
          lastSyncStart: '2026-11-26T07:55:00Z',
          lastSyncEnd: '2026-11-26T07:56:00Z',
          lastSyncResult: 'Succeeded',
          lastSyncBytes: 3 * 2 ** 30,
        }),
      }),
    )!;
    expect(row.state).toBe('Protected');
    expect(lag(row.status, now)).toBe('5m');
    expect(renderTable([row], statusColumns(now, false))).toBe(
      'NAME   TARGET    STATE       METHOD     DESTINATION    SCHEDULE    LAST SYNC   LAG   RESULT      BYTES\n' +
        'data   default   Protected   snapshot   dr/apps/data   0 * * * *   4m          5m    Succeeded   3Gi\n',
    );
  });

  it('-A adds the namespace first; -o wide adds endpoint, source, duration, next sync, snapshot, read-only copy, consistency, error', () => {
    const row = replicationRow(pvc(source))!;
    const all = renderTable([row], statusColumns(now, true), true).split('\n')[0]!;
    expect(all.split(/\s{3,}/)).toEqual([
      'NAMESPACE',
      'NAME',
      'TARGET',
      'STATE',
      'METHOD',
      'DESTINATION',
      'SCHEDULE',
      'LAST SYNC',
      'LAG',
      'RESULT',
      'BYTES',
      'ENDPOINT',
      'SOURCE',
      'DURATION',
      'NEXT SYNC',
      'SNAPSHOT',
      'READ-ONLY COPY',
      'CONSISTENCY',
      'ERROR',
    ]);
  });

  it('a running sync shows since when it runs, not when the previous one ended', () => {
    const row = replicationRow(
      pvc({
        ...source,
        ...renderStatus({
          lastSyncStart: '2026-11-26T07:59:00Z',
          lastSyncEnd: '2026-11-26T07:00:00Z',
          lastSyncResult: 'Running',
        }),
      }),
    )!;
    expect(row.state).toBe('Syncing');
    const lastSync = statusColumns(now, false).find((c) => c.header === 'last sync')!;
    expect(lastSync.value(row)).toBe('60s');
    expect(lag(row.status, now)).toBeUndefined();
  });

  it('states: failing, paused, pending, foreign, invalid, not replicated', () => {
    const state = (ann: Record<string, string | null>) => replicationRow(pvc(ann))?.state;
    expect(state({ ...source, ...renderStatus({ lastSyncResult: 'Failed' }) })).toBe('Failing');
    expect(state({ ...source, [specKeys.paused]: 'true' })).toBe('Paused');
    expect(state({ ...source, [specKeys.endpoint]: null })).toBe('Pending');
    expect(state({ ...source, [specKeys.method]: 'acme' })).toBe('Foreign');
    expect(state({ ...source, [specKeys.schedule]: 'often' })).toBe('Invalid');
    expect(state({ unrelated: 'x' })).toBeUndefined();
    const bad = replicationRow(pvc({ ...source, [specKeys.schedule]: 'often' }))!;
    expect(bad.problems).toMatch(
      new RegExp(
        `^metadata\\.annotations\\[${specKeys.schedule.replace(/[./]/g, '\\$&')}\\]: "often" is not a schedule`,
      ),
    );
  });
});

describe('sync --wait progress', () => {
  const req = '2026-11-26T08:00:00Z';
  const now = new Date('2026-11-26T08:00:30Z');
  it('waits for the trigger to be taken, never mistakes an older result for this one', () => {
    expect(syncProgress({ lastSyncResult: 'Succeeded' }, req, now).phase).toBe('waiting');
    expect(
      syncProgress(
        { syncHandled: req, lastSyncResult: 'Succeeded', lastSyncStart: '2026-11-26T07:00:00Z' },
        req,
        now,
      ),
    ).toEqual({ phase: 'running', line: 'sync starting' });
    expect(
      syncProgress(
        {
          syncHandled: req,
          lastSyncResult: 'Running',
          lastSyncStart: '2026-11-26T08:00:10Z',
          lastSyncBytes: 2048,
        },
        req,
        now,
      ),
    ).toEqual({ phase: 'running', line: 'syncing for 20s (2Ki so far)' });
    expect(
      syncProgress(
        {
          syncHandled: req,
          lastSyncResult: 'Succeeded',
          lastSyncStart: '2026-11-26T07:59:59Z',
          lastSyncDuration: 3,
          lastSyncFiles: 2,
        },
        req,
        now,
        true,
      ),
    ).toEqual({ phase: 'succeeded', line: 'synced in 3s: 2 files' });
    expect(
      syncProgress(
        {
          syncHandled: req,
          lastSyncResult: 'Failed',
          lastSyncStart: '2026-11-26T08:00:01Z',
          lastSyncError: 'host key mismatch',
        },
        req,
        now,
      ),
    ).toEqual({
      phase: 'failed',
      line: 'sync failed: host key mismatch',
      error: 'host key mismatch',
    });
  });
});

describe('completion answers', () => {
  const src: CompletionSource = {
    flagsOf: (id) =>
      id === 'enable:pvc'
        ? [
            { name: 'namespace', char: 'n', takesValue: true },
            { name: 'to', takesValue: true },
            {
              name: 'service-type',
              takesValue: true,
              options: ['ClusterIP', 'LoadBalancer', 'NodePort'],
            },
            { name: 'dry-run', takesValue: false },
            { name: 'kubeconfig', takesValue: true },
          ]
        : [
            { name: 'namespace', char: 'n', takesValue: true },
            { name: 'target', takesValue: true },
          ],
    contexts: () => ['prod', 'dr', 'dr-west'],
    clusters: () => [],
    users: () => [],
    namespaces: async () => ['apps', 'default'],
    pvcs: async (flags, replicated) =>
      replicated ? [`only-replicated-in-${flags.namespace ?? 'ctx'}`] : ['data', 'logs'],
    targets: async (_flags, pvc) => (pvc === 'data' ? ['default', 'lake', 'lab'] : []),
  };
  const c = (...args: string[]) => complete(args, src).then(renderCompletion);

  it('follows the words typed so far', async () => {
    expect(await c('')).toBe(
      'enable\nstatus\nsync\ndisable\nfailover\nreverse\nmigrate\ninstall\nuninstall\ndoctor\nversion\n:4\n',
    );
    expect(await c('s')).toBe('status\nsync\n:4\n');
    expect(await c('enable', '')).toBe('pvc\n:4\n');
    expect(await c('enable', 'pvc', 'd')).toBe('data\n:4\n');
    expect(await c('sync', 'pvc', '-n', 'apps', '')).toBe('only-replicated-in-apps\n:4\n');
    expect(await c('enable', 'pvc', 'data', '--to', 'dr')).toBe('dr\ndr-west\n:4\n');
    expect(await c('enable', 'pvc', 'data', '--service-type=N')).toBe(
      '--service-type=NodePort\n:4\n',
    );
    expect(await c('enable', 'pvc', 'data', '-n', '')).toBe('apps\ndefault\n:4\n');
    expect(await c('enable', 'pvc', 'data', '--d')).toBe('--dry-run\n:4\n');
    expect(await c('enable', 'pvc', 'data', '--kubeconfig', '')).toBe(':0\n'); // files
    expect(await c('__complete', 'status', '')).toBe('pvc\n:4\n');
    expect(await c('sync', 'pvc', 'data', '--target', 'la')).toBe('lake\nlab\n:4\n');
    expect(await c('disable', 'pvc', 'data', '--target=l')).toBe(
      '--target=lake\n--target=lab\n:4\n',
    );
    expect(await c('sync', 'pvc', '--target', '')).toBe(':4\n');
  });
});

describe('the CLI', () => {
  it('root help and version answer without oclif; a command help with it', async () => {
    const help = await run(bin, ['--help']);
    expect(help.stdout).toMatch(/^kubectl scribe replicates PVC data/);
    expect(help.stdout).toMatch(
      /\n {2}enable pvc NAME --to CONTEXT\[\/NAMESPACE\[\/PVC\]\]\.\.\. {3,}Protect a PVC/,
    );
    const v = await run(bin, ['version', '-o', 'json']);
    expect(JSON.parse(v.stdout).clientVersion.moverImage).toMatch(/^ghcr\.io\/backube\/scribe:v\d/);
    const sub = await run(bin, ['help', 'sync', 'pvc']);
    expect(sub.stdout).toMatch(/USAGE\n {2}\$ kubectl scribe sync pvc NAME/);
    const enable = await run(bin, ['enable', 'pvc', '--help']);
    expect(enable.stdout).toContain('--quiesce-command=<value>');
    expect(enable.stdout).toContain('--quiesce-timeout=<value>');
    expect(enable.stdout).toContain('--quiesce-command makes copies application-consistent');
    // Completion offers the hook flags, read from the command's real flags.
    const completeBin = join(
      import.meta.dirname,
      '..',
      '..',
      'plugin',
      'bin',
      'scribe-complete.js',
    );
    const words = await run(process.execPath, [completeBin, 'enable', 'pvc', 'data', '--quiesce-']);
    expect(words.stdout).toBe('--quiesce-command\n--quiesce-container\n--quiesce-timeout\n:4\n');
    expect(
      (await run(process.execPath, [completeBin, 'enable', 'pvc', 'data', '--unq'])).stdout,
    ).toBe('--unquiesce-command\n:4\n');
  });

  it('bad input gets one kubectl-style error line and exit status 1', async () => {
    const fail = (args: string[]) =>
      run(bin, args).then(
        () => ({ code: 0, stderr: '' }),
        (e: { code: number; stderr: string }) => ({ code: e.code, stderr: e.stderr }),
      );
    expect(await fail(['enable', 'pvc', 'x'])).toEqual({
      code: 1,
      stderr: 'error: required flag "--to" not set; see kubectl scribe enable pvc --help\n',
    });
    // Said before any cluster is asked (no kubeconfig needed).
    expect(
      await fail([
        'enable',
        'pvc',
        'data',
        '--to',
        'dr',
        '--to',
        'lake',
        '--schedule',
        'manual',
        '--schedule',
        '@hourly',
        '--schedule',
        '@daily',
        '--kubeconfig',
        '/dev/null',
      ]),
    ).toEqual({
      code: 1,
      stderr:
        'error: 3 --schedule flags for 2 --to flags: give one --schedule for all destinations, or one per --to in the same order\n',
    });
    expect(await fail(['frobnicate'])).toEqual({
      code: 1,
      stderr:
        'error: unknown command "frobnicate" for "kubectl scribe"; see kubectl scribe --help\n',
    });
    expect(
      (await fail(['status', '--request-timeout', 'soon', '--kubeconfig', '/dev/null'])).stderr,
    ).toMatch(/^error: (invalid --request-timeout "soon"|no configuration has been provided)/);
  });

  it('oclif messages are reworded', () => {
    expect(
      kubectlTone('Nonexistent flag: --bogus\nSee more help with --help', ['status', '--bogus']),
    ).toBe('unknown flag: --bogus; see kubectl scribe status --help');
    expect(
      kubectlTone('Missing 1 required arg:\nname  The source PVC.\nSee more help with --help', [
        'sync',
        'pvc',
      ]),
    ).toBe('required argument NAME not given; see kubectl scribe sync pvc --help');
  });
});
