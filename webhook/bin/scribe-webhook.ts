#!/usr/bin/env -S node --disable-sigusr1
import module from 'node:module';

// Node.js answers SIGUSR1 by opening its inspector on 127.0.0.1:9229: a
// debugger port into a process that holds the API token (the server) or sits
// in the application's pod (the sidecar). The #! flag turns that off; the
// listener does too when the script is started as `node scribe-webhook.ts`.
process.on('SIGUSR1', () => {});

// The sidecar's loop starts with every pod: cached compiled code shortens it.
module.enableCompileCache?.();

const { main } = await import('../src/cli.ts');
await main(process.argv);
