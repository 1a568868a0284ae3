import { spawn, type ChildProcess } from 'node:child_process';
import { CronExpressionParser } from 'cron-parser';
import type { Logger } from './log.ts';

// The live-copy sidecar's loop: `scribe-mover send` on the replication's
// schedule, one run at a time. The mover stays a one-shot command; the loop
// is the sidecar's role (`scribe-webhook live-sync --schedule CRON -- send ...`).

export const MANUAL = 'manual';

// The next run strictly after `from` (UTC, as the spec's schedules are).
export function nextRun(schedule: string, from: Date): Date {
  return CronExpressionParser.parse(schedule, { currentDate: from, tz: 'UTC' }).next().toDate();
}

export interface LiveSyncOptions {
  schedule: string;
  moverArgs: string[];
  moverCommand?: string[]; // default: ["scribe-mover"]
  log: Logger;
  now?: () => Date;
}

export interface LiveSyncLoop {
  done: Promise<void>;
  stop(): void;
  runs: number;
  missed: number;
}

export function startLiveSync(opts: LiveSyncOptions): LiveSyncLoop {
  const now = opts.now ?? (() => new Date());
  const command = opts.moverCommand ?? ['scribe-mover'];
  if (opts.schedule !== MANUAL) nextRun(opts.schedule, now()); // a bad schedule fails here, at start
  let child: ChildProcess | undefined;
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  let finish: () => void = () => {};
  const state: LiveSyncLoop = {
    done: new Promise<void>((r) => (finish = r)),
    runs: 0,
    missed: 0,
    stop() {
      stopped = true;
      clearTimeout(timer);
      if (child && child.exitCode === null) child.kill('SIGTERM');
      else finish();
    },
  };

  const run = () =>
    new Promise<number>((resolve) => {
      const started = Date.now();
      const [bin, ...pre] = command;
      child = spawn(bin!, [...pre, ...opts.moverArgs], { stdio: ['ignore', 'pipe', 'inherit'] });
      let out = '';
      child.stdout!.setEncoding('utf8');
      child.stdout!.on('data', (c: string) => (out += c.length + out.length < 65_536 ? c : ''));
      child.on('error', (err) => {
        opts.log.error({ err: err.message }, 'cannot start the mover');
        resolve(127);
      });
      child.on('close', (code, signal) => {
        state.runs += 1;
        let summary: unknown;
        try {
          summary = JSON.parse(out.trim().split('\n').pop() ?? '');
        } catch {
          summary = undefined;
        }
        const fields = { code, signal, seconds: (Date.now() - started) / 1000, summary };
        if (code === 0) opts.log.info(fields, 'live sync complete');
        else opts.log.error(fields, 'live sync failed');
        resolve(code ?? 1);
      });
    });

  const loop = async () => {
    // A first copy at start: a restarted pod catches up at once.
    let scheduled = now();
    await run();
    while (!stopped && opts.schedule !== MANUAL) {
      const finished = now();
      // Ticks that came while a run went on are counted, not queued.
      let skipped = 0;
      for (
        let t = nextRun(opts.schedule, scheduled);
        t <= finished && skipped < 10_000;
        t = nextRun(opts.schedule, t)
      ) {
        skipped += 1;
      }
      if (skipped > 0) {
        state.missed += skipped;
        opts.log.warn({ missed: skipped }, 'schedule ticks missed while a sync ran');
      }
      const next = nextRun(opts.schedule, finished);
      await new Promise<void>((r) => {
        timer = setTimeout(r, Math.max(0, next.getTime() - now().getTime()));
      });
      if (stopped) break;
      scheduled = next;
      await run();
    }
    if (opts.schedule === MANUAL && !stopped) {
      opts.log.info('schedule is manual: no further syncs until the pod restarts');
      await new Promise<void>((r) => {
        const check = setInterval(() => stopped && (clearInterval(check), r()), 1000);
      });
    }
    finish();
  };
  void loop();
  return state;
}
