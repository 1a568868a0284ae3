// Run before every test file (vitest.config.ts, setupFiles). Its afterAll is
// registered first, so it runs after the file's own (hooks run as a stack).

import { afterAll, beforeAll } from 'vitest';
import { descendants, killLeftovers } from './leftovers.ts';

let spare = new Set<number>();

beforeAll(() => {
  spare = new Set(descendants().map((p) => p.pid));
});

afterAll(() => {
  const left = killLeftovers(spare);
  if (left.length === 0) return;
  const names = left.map((p) => `${p.pid} ${p.command.slice(0, 160)}`).join('\n  ');
  console.warn(`killed ${left.length} process(es) this test file left running:\n  ${names}`);
});
