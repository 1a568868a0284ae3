#!/usr/bin/env node
import module from 'node:module';
import process from 'node:process';

// Plain JavaScript on purpose: the compile cache must be on before the first
// TypeScript file loads, or Node compiles its type stripper on every start
// (measured: 516 ms a start with a .ts entry, 306 ms with this one). rsync
// starts a mover process per sync, so this is paid per sync.
module.enableCompileCache?.();

// rsync's remote shell is started on every transfer: keep it to what it needs.
if (process.argv[2] === 'rsh-handoff') {
  const { rshHandoffMain } = await import('../src/rsh-handoff.ts');
  // exit() at once: the inherited IPC channel would keep the process alive.
  process.exit(await rshHandoffMain(process.argv.slice(3)));
} else if (process.argv[2] === 'rsh') {
  const { rshMain } = await import('../src/rsh.ts');
  process.exitCode = await rshMain(process.argv.slice(3));
} else {
  const { main } = await import('../src/cli.ts');
  await main(process.argv);
}
