// `npm run stand-in -- --kubeconfig FILE`: two stand-in clusters, "source"
// and "destination", each with its own API server, storage and controllers;
// writes a kubeconfig with a context for each, says when they are ready,
// and serves until SIGINT or SIGTERM, then removes everything it made.

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Command } from 'commander';
import { startTwoClusters } from './two-clusters.ts';

const program = new Command('stand-in')
  .description('Run two local stand-in Kubernetes clusters, "source" and "destination", for Scribe')
  .requiredOption(
    '--kubeconfig <file>',
    'where to write the kubeconfig (contexts "source" and "destination")',
  )
  .option(
    '--dir <dir>',
    'working directory for volumes, pods and logs (default: a new temp directory)',
  )
  .option(
    '--noop-other-images',
    "run pods of images other than Scribe's as a no-op (sleep) instead of leaving them Pending",
  )
  .option(
    '--address-block <n>',
    'loopback blocks to use: pods 127.(10+n).x.y, services 127.(40+n), load balancers 127.(70+n)',
    '20',
  )
  .option('--verbose', "print the controllers' messages")
  .showHelpAfterError('(run "npm run stand-in -- --help" for usage)');

program.parse();
const opts = program.opts<{
  kubeconfig: string;
  dir?: string;
  noopOtherImages?: boolean;
  addressBlock: string;
  verbose?: boolean;
}>();
const block = Number(opts.addressBlock);
if (!Number.isInteger(block) || block < 0 || block > 28) {
  program.error(
    `error: --address-block must be an integer from 0 to 28, got "${opts.addressBlock}"`,
  );
}

const kubeconfig = resolve(opts.kubeconfig);
const ownDir = opts.dir === undefined;
const dir = opts.dir ?? (await mkdtemp(join(tmpdir(), 'scribe-standin-')));
const started = Date.now();
const clusters = await startTwoClusters(dir, {
  addressBlock: block,
  noopOtherImages: opts.noopOtherImages === true,
  log: opts.verbose ? (m) => console.error(m) : () => undefined,
}).catch(async (err: unknown) => {
  if (ownDir) await rm(dir, { recursive: true, force: true });
  console.error(`error: the stand-in clusters did not start: ${(err as Error).message}`);
  process.exit(1);
});
await clusters.writeKubeconfig(kubeconfig);

for (const c of [clusters.source, clusters.destination]) {
  const storage =
    c.pool.kind === 'loop-xfs'
      ? `XFS with reflink on ${c.pool.device}`
      : 'a temp directory (no loop devices)';
  console.log(`${c.name.padEnd(11)} ${c.api.url}  storage: ${storage}`);
}
console.log(
  `stand-in ready in ${((Date.now() - started) / 1000).toFixed(1)}s: kubectl --kubeconfig ${kubeconfig} --context source|destination ...`,
);
console.log(
  'StorageClasses: standin-csi (default; clone and snapshot), standin-basic (neither); VolumeSnapshotClass: standin-snapclass',
);
console.log('press Ctrl-C to stop');

let stopping = false;
const stop = async (signal: string): Promise<void> => {
  if (stopping) return;
  stopping = true;
  console.log(`${signal}: stopping the stand-in clusters`);
  let code = 0;
  try {
    await clusters.stop();
  } catch (err) {
    console.error(`error: ${(err as Error).message}`);
    code = 1;
  }
  if (ownDir) await rm(dir, { recursive: true, force: true });
  console.log('stopped');
  process.exit(code);
};
process.on('SIGINT', () => void stop('SIGINT'));
process.on('SIGTERM', () => void stop('SIGTERM'));
