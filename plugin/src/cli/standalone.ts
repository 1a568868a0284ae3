// The entry of the standalone `kubectl-scribe` binary (a Node.js single
// executable application built by release/build): plugin/bin/scribe.js and,
// when started through a link named kubectl_complete-scribe (the name kubectl
// runs for completion), plugin/bin/scribe-complete.js, in one CommonJS
// bundle, which cannot await at top level.
import { basename } from 'node:path';
import process from 'node:process';
import { fastPath } from './fast-path.ts';
import { main, reportError } from './main.ts';

async function start(argv: string[]): Promise<void> {
  if (basename(process.argv0) === 'kubectl_complete-scribe') {
    const { complete, renderCompletion } = await import('./complete.ts');
    const { completionSource } = await import('./complete-source.ts');
    process.stdout.write(renderCompletion(await complete(argv, completionSource)));
    return;
  }
  const quick = await fastPath(argv);
  if (quick !== undefined) process.stdout.write(quick);
  else process.exitCode = await main(argv);
}

start(process.argv.slice(2)).catch((err: unknown) => {
  process.exitCode = reportError(err);
});
