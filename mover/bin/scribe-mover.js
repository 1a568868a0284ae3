#!/usr/bin/env -S node --max-semi-space-size=1
// --max-semi-space-size=1 (MiB): a transfer allocates a fresh buffer per socket
// read and per SSH packet. With V8's default young generation (it grows to
// several MiB at start-up and stays there) those buffers die in mark-compacts
// requested by external memory, 26-35 per GiB on each side; a 1 MiB young
// generation frees them in cheap scavenges instead (7-8 mark-compacts per
// GiB, bench/mover/README.md). A flag set at run time does not resize it. Pods
// start the mover by name, so this line is how it runs in the image; the
// benchmark reads the flags from here.
import module from 'node:module';
import process from 'node:process';

// Plain JavaScript on purpose: the compile cache must be on before the first
// TypeScript file loads, or Node compiles its type stripper on every start
// (measured: 516 ms a start with a .ts entry, 306 ms with this one). rsync
// starts a mover process per sync, so this is paid per sync.
module.enableCompileCache?.();

// rsync's clean-up after an error sends SIGUSR1 to its children, its remote
// shell among them, to end them as it would end ssh. Node.js answers SIGUSR1
// by opening its inspector on 127.0.0.1:9229: a debugger port into a process
// that holds the replication's key. A listener takes that away. The remote
// shell roles exit, as ssh would; the others ignore the signal.
process.on('SIGUSR1', () => {
  if (process.argv[2] === 'rsh-handoff' || process.argv[2] === 'rsh') process.exit(128 + 10);
});

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
