import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

// The payloads captured from a real kube-apiserver v1.24 (read-only). shared/
// sits beside the repository (CI, /work/main) or two levels up (a worktree).
function findFixtures(): string {
  if (process.env.SCRIBE_FIXTURES) return process.env.SCRIBE_FIXTURES;
  let dir = join(import.meta.dirname, '../../..');
  for (let i = 0; i < 4; i += 1) {
    const candidate = join(dir, 'shared/fixtures/kube-1.24');
    if (existsSync(candidate)) return candidate;
    dir = dirname(dir);
  }
  throw new Error(
    'shared/fixtures/kube-1.24 not found beside the repository (set SCRIBE_FIXTURES)',
  );
}

export const FIXTURES = findFixtures();

export function fixtureText(relative: string): string {
  return readFileSync(join(FIXTURES, relative), 'utf8');
}

export function fixture<T = unknown>(relative: string): T {
  return JSON.parse(fixtureText(relative)) as T;
}
