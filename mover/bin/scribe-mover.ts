#!/usr/bin/env node
import module from 'node:module';

// Cached compiled code halves start-up; rsync starts a mover process per sync.
module.enableCompileCache?.();

// rsync's remote shell is started on every transfer: keep it to what it needs.
if (process.argv[2] === 'rsh') {
  const { rshMain } = await import('../src/rsh.ts');
  process.exitCode = await rshMain(process.argv.slice(3));
} else {
  const { main } = await import('../src/cli.ts');
  await main(process.argv);
}
