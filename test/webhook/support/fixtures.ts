import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { kubeFixturesDir } from '../../support/fixtures.ts';

// The payloads captured from a real kube-apiserver v1.24 (test/fixtures/kube-1.24).
export const FIXTURES = kubeFixturesDir;

export function fixtureText(relative: string): string {
  return readFileSync(join(FIXTURES, relative), 'utf8');
}

export function fixture<T = unknown>(relative: string): T {
  return JSON.parse(fixtureText(relative)) as T;
}
