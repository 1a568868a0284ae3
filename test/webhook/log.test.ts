import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { isoTimeOncePerMillisecond } from '../../webhook/src/log.ts';

const LOG = join(import.meta.dirname, '../../webhook/src/log.ts');

// A process that logs through the webhook's logger; its stderr as it arrives.
function run(script: string): {
  lines: () => Record<string, unknown>[];
  exited: Promise<number | null>;
  kill: () => void;
} {
  const child = spawn(
    process.execPath,
    [
      '--input-type=module',
      '-e',
      `import { createLogger, requestLogger } from ${JSON.stringify(LOG)};\n${script}`,
    ],
    {
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  let stderr = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (c: string) => (stderr += c));
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  return {
    lines: () =>
      stderr
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as Record<string, unknown>),
    exited,
    kill: () => child.kill('SIGKILL'),
  };
}

describe('the webhook log', () => {
  it('writes a buffered line within its flush interval (500 ms) while the process runs on', async () => {
    const p = run(
      `const log = createLogger(); log.info({ n: 1 }, 'first'); setInterval(() => {}, 1000);`,
    );
    try {
      // Generous for a slow start under load; the lateness is measured from the line's own time.
      const deadline = Date.now() + 10_000;
      while (p.lines().length === 0 && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 20));
      const arrived = Date.now();
      expect(p.lines()).toMatchObject([{ msg: 'first', n: 1, name: 'scribe-webhook' }]);
      expect(arrived - Date.parse(p.lines()[0]!.time as string)).toBeLessThan(2_000);
    } finally {
      p.kill();
      await p.exited;
    }
  });

  it('loses no buffered line when the process dies of an uncaught error', async () => {
    const p = run(
      `const log = createLogger(); for (let i = 0; i < 3; i++) log.info({ i }, 'line'); throw new Error('boom');`,
    );
    expect(await p.exited).toBe(1);
    expect(p.lines().map((l) => l.i)).toEqual([0, 1, 2]);
  });

  it('censors key material at the top level and one level down, and request lines at the top level', async () => {
    const p = run(
      [
        `const log = createLogger();`,
        `log.info({ key: 'k1', tls: { keyPem: 'k2', token: 't1' } }, 'general');`,
        `requestLogger(log).info({ uid: 'u', object: { spec: 1 }, token: 't2' }, 'request');`,
      ].join('\n'),
    );
    expect(await p.exited).toBe(0);
    const [general, request] = p.lines();
    expect(general).toMatchObject({
      key: '[redacted]',
      tls: { keyPem: '[redacted]', token: '[redacted]' },
    });
    expect(request).toMatchObject({ uid: 'u', object: '[redacted]', token: '[redacted]' });
  });

  it('stamps each line with the current time, kept only within its millisecond', () => {
    vi.useFakeTimers();
    try {
      vi.setSystemTime(Date.parse('2026-12-07T00:00:00.123Z'));
      const first = isoTimeOncePerMillisecond();
      expect(first).toBe(',"time":"2026-12-07T00:00:00.123Z"');
      expect(isoTimeOncePerMillisecond()).toBe(first);
      vi.setSystemTime(Date.parse('2026-12-07T00:00:00.124Z'));
      expect(isoTimeOncePerMillisecond()).toBe(',"time":"2026-12-07T00:00:00.124Z"');
    } finally {
      vi.useRealTimers();
    }
  });
});
