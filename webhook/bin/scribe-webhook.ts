#!/usr/bin/env node
import module from 'node:module';

// The sidecar's loop starts with every pod: cached compiled code shortens it.
module.enableCompileCache?.();

const { main } = await import('../src/cli.ts');
await main(process.argv);
