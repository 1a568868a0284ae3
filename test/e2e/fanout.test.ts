// Fan-out end to end on two stand-in clusters, through the real kubectl: one
// source PVC replicates to a destination in the other cluster (its default
// target, synced on request) and to one in another namespace of its own
// cluster (target "lake", on a schedule of its own), added later with the
// same `enable` command. Each target syncs on its own trigger with its own
// copy, sender Job and status; the data arrives byte for byte at both, each
// destination with its own snapshot; `disable --target` removes one and the
// other replicates on.
import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  parseSpec,
  parseStatus,
  sourceTargets,
  type ReplicationStatus,
  type SourceSpec,
} from '../../model/src/index.ts';
import type { Cluster } from '../standin/cluster.ts';
import { CSI_CLASS } from '../standin/cluster.ts';
import { waitFor } from '../standin/cluster-testing.ts';
import { describeTree, diffTrees } from '../support/tree.ts';
import {
  claim,
  drive,
  ns,
  onRealCluster,
  registerScribe,
  scribeWhileDriving,
  startStand,
  writeBothKubeconfig,
  type Run,
  type Stand,
} from './stand.ts';

let s: Stand;
const suite = onRealCluster ? describe.skip : describe;
let kubeconfig: string;
const lakeNs = 'analytics';

const scribe = (...args: string[]): Promise<Run> =>
  scribeWhileDriving(kubeconfig, [...args, '--context', 'source'], [s.dst, s.src]);

beforeAll(async () => {
  if (onRealCluster) return;
  s = (await startStand())!;
  kubeconfig = await writeBothKubeconfig(s);
  await registerScribe(s.source);
  await registerScribe(s.destination);
  await s.source.clients.core.createNamespace({ body: { metadata: { name: lakeNs } } });
});
afterAll(() => s?.stop());

async function annotationsOf(c: Cluster, name: string, namespace = ns) {
  const pvc = await c.clients.core.readNamespacedPersistentVolumeClaim({ name, namespace });
  return pvc.metadata?.annotations ?? {};
}

async function sourceSpecNow(): Promise<SourceSpec> {
  const spec = parseSpec(await annotationsOf(s.source, 'data')).spec;
  expect(spec?.role).toBe('source');
  return spec as SourceSpec;
}

async function targetStatus(target: string): Promise<ReplicationStatus> {
  return parseStatus(await annotationsOf(s.source, 'data'), target);
}

/** The directory of a bound claim's volume in any namespace. */
async function volumeIn(c: Cluster, name: string, namespace: string): Promise<string> {
  const bound = await waitFor(`${namespace}/${name} to bind`, async () => {
    const p = await c.clients.core
      .readNamespacedPersistentVolumeClaim({ name, namespace })
      .catch(() => undefined);
    return p?.spec?.volumeName ? p : undefined;
  });
  const pv = await c.clients.core.readPersistentVolume({ name: bound.spec!.volumeName! });
  return pv.spec!.local!.path;
}

async function sameTree(a: string, b: string): Promise<unknown[]> {
  return diffTrees(
    await describeTree(a, { exclude: ['.scribe'] }),
    await describeTree(b, { exclude: ['.scribe'] }),
  );
}

suite('one source, two destinations (stand-in)', () => {
  let data: string;

  it('enables one destination, then adds a second with its own schedule; a rerun changes nothing', async () => {
    data = await claim(s.source, 'data', CSI_CLASS, {});
    await mkdir(join(data, 'tables'));
    for (let i = 0; i < 6; i++) {
      await writeFile(join(data, 'tables', `t${i}.bin`), randomBytes(256 << 10));
    }
    await writeFile(join(data, 'README'), 'orders, v1\n');

    // The stand-in does not route ClusterIPs from pods: LoadBalancer for both.
    const first = await scribe(
      'enable',
      'pvc',
      'data',
      '--to',
      'destination',
      '--schedule',
      'manual',
      '--service-type',
      'LoadBalancer',
    );
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toMatch(
      /^persistentvolumeclaim\/data protected: replicating to destination\/default\/data through \S+, on demand/m,
    );

    // Later: a second destination; the first is named again and left as it is.
    const args = [
      'enable',
      'pvc',
      'data',
      '--to',
      'destination',
      '--to',
      `lake=source/${lakeNs}/data`,
      '--schedule',
      'manual',
      '--schedule',
      '* * * * *',
      '--service-type',
      'LoadBalancer',
    ];
    const before = await sourceSpecNow();
    const second = await scribe(...args);
    expect(second.code, second.stderr).toBe(0);
    expect(second.stdout).toContain(
      'persistentvolumeclaim/data unchanged: already replicating to destination/default/data\n',
    );
    expect(second.stdout).toContain(
      `persistentvolumeclaim/data created (context source, namespace ${lakeNs})`,
    );
    expect(second.stdout).toContain(
      'secret/scribe-target-lake.data created (context source, namespace default)',
    );
    expect(second.stdout).toMatch(
      new RegExp(
        `^persistentvolumeclaim/data protected: replicating to source/${lakeNs}/data \\(target lake\\) through \\S+, on schedule "\\* \\* \\* \\* \\*"$`,
        'm',
      ),
    );
    const spec = await sourceSpecNow();
    const targets = sourceTargets(spec);
    expect(
      targets.map((t) => [
        t.name,
        `${t.destination.context}/${t.destination.namespace}/${t.destination.name}`,
      ]),
    ).toEqual([
      ['default', 'destination/default/data'],
      ['lake', `source/${lakeNs}/data`],
    ]);
    expect(targets[0]).toEqual(sourceTargets(before)[0]);
    expect(targets[1]!.trigger).toEqual({ kind: 'schedule', cron: '* * * * *' });
    expect(targets[1]!.endpoint).toMatch(/^\S+:2222$/);
    expect(targets[1]!.secret).toBe('scribe-target-lake.data');
    const a = await annotationsOf(s.source, 'data');
    expect(a['scribe.backube.io/destination.lake']).toBe(`source/${lakeNs}/data`);
    expect(a['scribe.backube.io/schedule']).toBe('manual');
    const lakeDst = parseSpec(await annotationsOf(s.source, 'data', lakeNs)).spec;
    expect(lakeDst).toMatchObject({
      role: 'destination',
      source: { name: 'data' },
      sourceTarget: 'lake',
    });

    // The replicators write status meanwhile; the spec is the command's.
    const specKeysOf = async () =>
      Object.entries(await annotationsOf(s.source, 'data')).filter(([k]) =>
        k.startsWith('scribe.backube.io/'),
      );
    const specBefore = await specKeysOf();
    const again = await scribe(...args);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toContain(
      `persistentvolumeclaim/data unchanged: already replicating to source/${lakeNs}/data (target lake)`,
    );
    expect(again.stdout).not.toMatch(/ (created|annotated) /);
    expect(await specKeysOf()).toEqual(specBefore);
  });

  it('syncs the default target on request; lake is left to its schedule', async () => {
    const r = await scribe('sync', 'pvc', 'data', '--target', 'default', '--wait');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^persistentvolumeclaim\/data synced in /m);
    expect((await targetStatus('default')).lastSyncResult).toBe('Succeeded');
    expect((await targetStatus('lake')).syncHandled).toBeUndefined();
    const dst = await volumeIn(s.destination, 'data', ns);
    expect(await sameTree(data, dst)).toEqual([]);
  });

  it('syncs lake when its schedule fires, with its own copy, Job, status and snapshot', async () => {
    const st = await drive(
      s,
      "lake's scheduled sync",
      async () => {
        const v = await targetStatus('lake');
        return v.lastSyncResult === 'Succeeded' ? v : undefined;
      },
      100_000,
    );
    // Its first sync: the whole 1.5 MiB of random tables crossed the wire.
    expect(st.lastSyncBytes).toBeGreaterThan(1_500_000);
    const lake = await volumeIn(s.source, 'data', lakeNs);
    expect(await sameTree(data, lake)).toEqual([]);
    // One request of the default target, one scheduled sync of lake: counted apart.
    expect((await targetStatus('default')).syncCount).toBe(1);
    expect(st.syncCount).toBe(1);
    // Each destination its own snapshot, taken by its own cluster's replicator.
    const snapOf = async (c: Cluster, namespace: string) =>
      drive(s, `a snapshot of ${namespace}/data`, async () => {
        return parseStatus(await annotationsOf(c, 'data', namespace)).latestSnapshot;
      });
    const snaps = [await snapOf(s.destination, ns), await snapOf(s.source, lakeNs)];
    expect(snaps.every(Boolean)).toBe(true);
    // The sender Jobs carried the target's name.
    const events = await s.source.clients.core.listNamespacedEvent({ namespace: ns });
    const messages = events.items.map((e) => e.message ?? '');
    expect(
      messages.some((m) => /^target "lake": sync \S+ started \(schedule, clone\)/.test(m)),
    ).toBe(true);
    expect(messages.some((m) => /^target "default": sync \S+ succeeded/.test(m))).toBe(true);
  });

  it('shows a row per target, and its own status in -o json', async () => {
    const r = await scribe('status', 'pvc', 'data');
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^NAME\s+TARGET\s+STATE\s+METHOD\s+DESTINATION\s+SCHEDULE/);
    expect(lines[1]).toMatch(
      /^data\s+default\s+Protected\s+clone\s+destination\/default\/data\s+manual\s+/,
    );
    expect(lines[2]).toMatch(
      new RegExp(
        `^data\\s+lake\\s+(Protected|Syncing)\\s+clone\\s+source/${lakeNs}/data\\s+\\* \\* \\* \\* \\*\\s+`,
      ),
    );
    const json = JSON.parse((await scribe('status', 'pvc', 'data', '-o', 'json')).stdout);
    expect(json.targets.map((t: { name: string }) => t.name)).toEqual(['default', 'lake']);
    expect(json.targets[0].status.lastSyncResult).toBe('Succeeded');
    expect(json.targets[1].spec.destination).toEqual({
      context: 'source',
      namespace: lakeNs,
      name: 'data',
    });
  });

  it('syncs every target on one request, and both copies follow the source', async () => {
    await writeFile(join(data, 'README'), 'orders, v2\n');
    await writeFile(join(data, 'tables', 't9.bin'), randomBytes(64 << 10));
    const r = await scribe('sync', 'pvc', 'data', '--wait');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^persistentvolumeclaim\/data target default: synced in /m);
    expect(r.stdout).toMatch(/^persistentvolumeclaim\/data target lake: synced in /m);
    expect(await sameTree(data, await volumeIn(s.destination, 'data', ns))).toEqual([]);
    expect(await sameTree(data, await volumeIn(s.source, 'data', lakeNs))).toEqual([]);
  });

  it('plans two destinations of a fresh PVC in one dry run, and changes nothing', async () => {
    await claim(s.source, 'fresh', CSI_CLASS, {});
    const r = await scribe(
      'enable',
      'pvc',
      'fresh',
      '--to',
      'destination',
      '--to',
      `source/${lakeNs}`,
      '--service-type',
      'LoadBalancer',
      '--dry-run',
    );
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('secret/scribe-source-fresh created (dry run)');
    // The second is named after its context.
    expect(r.stdout).toContain('target source:\n');
    expect(r.stdout).toContain('secret/scribe-target-source.fresh created (dry run)');
    expect(r.stdout).toContain(
      `persistentvolumeclaim/fresh created (dry run) (context source, namespace ${lakeNs})`,
    );
    expect(parseSpec(await annotationsOf(s.source, 'fresh')).enabled).toBe(false);
    const missing = await s.source.clients.core
      .readNamespacedPersistentVolumeClaim({ name: 'fresh', namespace: lakeNs })
      .catch(() => undefined);
    expect(missing).toBeUndefined();
  });

  it('disables one target; the other replicates on', async () => {
    const bad = await scribe('disable', 'pvc', 'data', '--target', 'default');
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(
      /^error: the default target of persistentvolumeclaim "data" .*--target lake/,
    );
    const r = await scribe('disable', 'pvc', 'data', '--target', 'lake');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(
      'persistentvolumeclaim/data annotated (context source, namespace default) (target lake removed)',
    );
    expect(r.stdout).toContain('secret/scribe-target-lake.data deleted');
    const spec = await sourceSpecNow();
    expect(sourceTargets(spec).map((t) => t.name)).toEqual(['default']);
    const left = Object.keys(await annotationsOf(s.source, 'data')).filter((k) =>
      k.endsWith('.lake'),
    );
    expect(left).toEqual([]);
    // The lake copy keeps its data, no longer a destination.
    expect(parseSpec(await annotationsOf(s.source, 'data', lakeNs)).enabled).toBe(false);
    // The default target still syncs.
    await writeFile(join(data, 'README'), 'orders, v3\n');
    const again = await scribe('sync', 'pvc', 'data', '--wait');
    expect(again.code, again.stderr).toBe(0);
    expect(await sameTree(data, await volumeIn(s.destination, 'data', ns))).toEqual([]);
  });
});
