// The entry of the standalone `kubectl-scribe` binary (a Node.js single
// executable application built by release/build): plugin/bin/scribe.js in one
// CommonJS bundle, which cannot await at top level.
import process from 'node:process';
import { fastPath } from './fast-path.ts';
import { main, reportError } from './main.ts';

async function start(argv: string[]): Promise<void> {
  const quick = await fastPath(argv);
  if (quick !== undefined) process.stdout.write(quick);
  else process.exitCode = await main(argv);
}

start(process.argv.slice(2)).catch((err: unknown) => {
  process.exitCode = reportError(err);
});
