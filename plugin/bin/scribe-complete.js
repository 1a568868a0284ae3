#!/usr/bin/env node
// The `kubectl_complete-scribe` executable: kubectl runs it to complete
// `kubectl scribe ...`. Plain JavaScript for the same reason as scribe.js.
import module from 'node:module';
import process from 'node:process';

module.enableCompileCache?.();

const { complete, renderCompletion } = await import('../src/cli/complete.ts');
const { completionSource } = await import('../src/cli/complete-source.ts');
process.stdout.write(renderCompletion(await complete(process.argv.slice(2), completionSource)));
