#!/usr/bin/env node
// The `kubectl-scribe` executable. Plain JavaScript on purpose: the compile
// cache must be on before the first TypeScript file loads, or Node compiles
// its type stripper (about 130 ms and 18 MiB) on every start.
import module from 'node:module';
import process from 'node:process';

module.enableCompileCache?.();

const argv = process.argv.slice(2);
const { fastPath } = await import('../src/cli/fast-path.ts');
const quick = await fastPath(argv);
if (quick !== undefined) {
  process.stdout.write(quick);
} else {
  const { main } = await import('../src/cli/main.ts');
  process.exitCode = await main(argv);
}
