// `npm run sandbox`: Scribe's main job end to end on two stand-in clusters,
// printing each step. Both clusters run Scribe's webhook and replicator (as
// processes, registered the way an install would register them); a PVC with
// data is protected with `kubectl scribe enable`, synced with `kubectl scribe
// sync --wait`, shown by `kubectl scribe status`, and the destination's data
// is compared with the source's, file by file.
//
// With --destination-without-scribe the destination cluster runs neither: the
// plugin starts its own endpoint there (a Deployment running the mover's
// receiver), and the source's replicator syncs to it.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { specPrefix, statusPrefix } from '../../model/src/index.ts';
import { OLDEST } from '../../webhook/src/server-capabilities.ts';
import {
  createCertificateAuthority,
  issueServingCertificate,
} from '../../webhook/src/tls-authority.ts';
import {
  mutatingWebhookConfiguration,
  validatingWebhookConfiguration,
} from '../../webhook/src/webhook-configurations.ts';
import { describeTree, diffTrees } from '../support/tree.ts';
import type { Cluster } from './cluster.ts';
import { waitFor } from './cluster-testing.ts';
import { startTwoClusters, type TwoClusters } from './two-clusters.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));
const destinationWithoutScribe = process.argv.includes('--destination-without-scribe');
const started = Date.now();
const processes: ChildProcess[] = [];
let clusters: TwoClusters | undefined;
let work = '';

function say(line: string): void {
  const t = ((Date.now() - started) / 1000).toFixed(1).padStart(5);
  console.log(`[${t}s] ${line}`);
}

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address() as { port: number };
  await new Promise((r) => s.close(r));
  return port;
}

/** A Scribe program as a process, its output kept for when something fails. */
function program(bin: string, args: string[]): { child: ChildProcess; output: () => string } {
  let output = '';
  const child = spawn(process.execPath, [join(root, bin), ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.setEncoding('utf8').on('data', (d: string) => (output += d));
  child.stderr?.setEncoding('utf8').on('data', (d: string) => (output += d));
  processes.push(child);
  return { child, output: () => output };
}

/** Runs a command as a user would, printing it and what it printed. */
async function run(command: string[], env: NodeJS.ProcessEnv): Promise<string> {
  say(`$ ${command.join(' ')}`);
  const child = spawn(command[0]!, command.slice(1), { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (out += d));
  const code = await new Promise<number | null>((r) => child.once('exit', r));
  for (const line of out.trimEnd().split('\n')) if (line) console.log(`         ${line}`);
  if (code !== 0) throw new Error(`${command.slice(0, 3).join(' ')} exited with ${code}`);
  return out;
}

/** Scribe's in-cluster parts for one cluster: the webhook (registered) and the replicator. */
async function installScribe(c: Cluster, kubeconfig: string): Promise<void> {
  const dir = join(work, `scribe-${c.name}`);
  await mkdir(dir, { recursive: true });
  const ca = createCertificateAuthority(`scribe-sandbox-${c.name}`, { validityDays: 1 });
  const serving = issueServingCertificate(ca, {
    dnsNames: ['localhost'],
    ipAddresses: ['127.0.0.1'],
    validityDays: 1,
  });
  await writeFile(join(dir, 'tls.crt'), serving.certPem);
  await writeFile(join(dir, 'tls.key'), serving.keyPem, { mode: 0o600 });
  const port = await freePort();
  const own = join(dir, 'kubeconfig');
  await c.api.writeKubeconfig(own, c.name);
  const webhook = program('webhook/bin/scribe-webhook.ts', [
    '--kubeconfig',
    own,
    '--host',
    '127.0.0.1',
    '--port',
    String(port),
    '--tls-cert',
    join(dir, 'tls.crt'),
    '--tls-key',
    join(dir, 'tls.key'),
  ]);
  await waitFor(`the ${c.name} webhook to listen`, async () => {
    if (webhook.child.exitCode !== null) throw new Error(`webhook exited:\n${webhook.output()}`);
    return webhook.output().includes('"msg":"listening"') ? true : undefined;
  });
  const opts = {
    capabilities: OLDEST,
    namespace: 'scribe-system',
    service: 'scribe-webhook',
    annotationPrefixes: [specPrefix, statusPrefix],
    url: `https://127.0.0.1:${port}`,
    caBundle: Buffer.from(ca.certPem).toString('base64'),
  };
  const admission = c.clients.kc.makeApiClient(
    (await import('@kubernetes/client-node')).AdmissionregistrationV1Api,
  );
  await admission.createMutatingWebhookConfiguration({ body: mutatingWebhookConfiguration(opts) });
  await admission.createValidatingWebhookConfiguration({
    body: validatingWebhookConfiguration(opts),
  });
  program('replicator/bin/scribe-replicator.ts', [
    '--kubeconfig',
    kubeconfig,
    '--context',
    c.name,
    '--namespace',
    'default',
    '--interval',
    '0.5',
    '--metrics-port',
    '0',
    '--identity',
    `sandbox-${c.name}`,
  ]);
  say(`${c.name}: Scribe's webhook (https://127.0.0.1:${port}) and replicator are running`);
}

async function main(): Promise<void> {
  work = await mkdtemp(join(tmpdir(), 'scribe-sandbox-'));
  const kubeconfig = join(work, 'kubeconfig');
  say('starting two stand-in Kubernetes clusters, "source" and "destination"');
  clusters = await startTwoClusters(join(work, 'clusters'), { log: () => undefined });
  await clusters.writeKubeconfig(kubeconfig);
  say(`clusters ready; kubeconfig ${kubeconfig}`);
  await installScribe(clusters.source, kubeconfig);
  if (destinationWithoutScribe) say('destination: Scribe is not installed there');
  else await installScribe(clusters.destination, kubeconfig);

  const env = {
    ...process.env,
    KUBECONFIG: kubeconfig,
    PATH: `${join(root, 'plugin/bin')}:${process.env.PATH ?? ''}`,
  };
  const manifest = join(work, 'pvc.yaml');
  await writeFile(
    manifest,
    [
      'apiVersion: v1',
      'kind: PersistentVolumeClaim',
      'metadata: {name: data, namespace: default}',
      'spec:',
      '  accessModes: [ReadWriteOnce]',
      '  storageClassName: standin-csi',
      '  resources: {requests: {storage: 256Mi}}',
      '',
    ].join('\n'),
  );
  await run(['kubectl', '--context', 'source', 'apply', '-f', manifest], env);
  const src = clusters.source;
  const bound = await waitFor('the source PVC to bind', async () => {
    const p = await src.clients.core.readNamespacedPersistentVolumeClaim({
      name: 'data',
      namespace: 'default',
    });
    return p.spec?.volumeName ? p : undefined;
  });
  const pv = await src.clients.core.readPersistentVolume({ name: bound.spec!.volumeName! });
  const sourceDir = pv.spec!.local!.path;
  await mkdir(join(sourceDir, 'orders'), { recursive: true });
  for (let i = 0; i < 200; i++) {
    await writeFile(join(sourceDir, 'orders', `order-${i}.json`), JSON.stringify({ id: i }));
  }
  await writeFile(join(sourceDir, 'catalog.db'), Buffer.alloc(8 << 20, 7));
  say(`wrote 201 files into the source volume (${sourceDir})`);

  await run(
    ['kubectl', 'scribe', 'enable', 'pvc', 'data', '--to', 'destination', '--schedule', 'manual'],
    env,
  );
  await run(['kubectl', 'scribe', 'sync', 'pvc', 'data', '--wait'], env);
  await run(['kubectl', 'scribe', 'status', '-o', 'wide'], env);

  const dst = clusters.destination;
  const dstClaim = await dst.clients.core.readNamespacedPersistentVolumeClaim({
    name: 'data',
    namespace: 'default',
  });
  const dstPv = await dst.clients.core.readPersistentVolume({ name: dstClaim.spec!.volumeName! });
  const destinationDir = dstPv.spec!.local!.path;
  const diff = diffTrees(
    await describeTree(sourceDir, { exclude: ['.scribe'] }),
    await describeTree(destinationDir, { exclude: ['.scribe'] }),
  );
  if (diff.length > 0) {
    throw new Error(`the destination differs: ${JSON.stringify(diff.slice(0, 5))}`);
  }
  say(`verified: the destination volume (${destinationDir}) is identical to the source`);
  say('done');
}

/** What a person would look at first, gathered before everything is torn down. */
async function diagnostics(): Promise<void> {
  if (!clusters) return;
  const env = { ...process.env, KUBECONFIG: join(work, 'kubeconfig') };
  for (const context of ['source', 'destination']) {
    await run(
      ['kubectl', '--context', context, 'get', 'pods,jobs,svc,pvc', '-o', 'wide'],
      env,
    ).catch(() => undefined);
    const pods = await (context === 'source' ? clusters.source : clusters.destination).clients.core
      .listNamespacedPod({ namespace: 'default' })
      .catch(() => undefined);
    for (const p of pods?.items ?? []) {
      await run(['kubectl', '--context', context, 'logs', p.metadata!.name!], env).catch(
        () => undefined,
      );
    }
  }
}

async function cleanup(): Promise<void> {
  const running = processes.filter((p) => p.exitCode === null && p.signalCode === null);
  for (const p of running) p.kill('SIGTERM');
  // Bounded: a program that does not stop on SIGTERM is named and killed, not waited for forever.
  await Promise.all(
    running.map(
      (p) =>
        new Promise<void>((resolve) => {
          const kill = setTimeout(() => {
            say(
              `warning: ${p.spawnargs.slice(1, 2).join(' ')} (pid ${p.pid}) did not stop within 10s of SIGTERM; killing it`,
            );
            p.kill('SIGKILL');
          }, 10_000);
          p.once('exit', () => (clearTimeout(kill), resolve()));
        }),
    ),
  );
  say('programs stopped; stopping the clusters');
  await clusters?.stop().catch(() => undefined);
  if (work) await rm(work, { recursive: true, force: true });
  say('cleaned up');
}

for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.once(sig, () => {
    say(`${sig}: stopping`);
    void cleanup().then(() => process.exit(130));
  });
}

try {
  await main();
  await cleanup();
} catch (err) {
  console.error(`error: ${(err as Error).message}`);
  await diagnostics().catch(() => undefined);
  await cleanup();
  process.exitCode = 1;
}
// Done: exit rather than wait for the event loop to drain. In 2 of about 10
// loaded CI runs something stayed open after a complete clean-up and the
// process never exited; name what it was, for whoever looks next.
const open = process
  .getActiveResourcesInfo()
  .filter((r) => r !== 'PipeWrap' && r !== 'TTYWrap' && r !== 'FSReqCallback');
if (open.length > 0) say(`note: still open after clean-up: ${open.join(', ')}`);
process.exit();
