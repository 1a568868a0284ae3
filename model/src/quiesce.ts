// Quiesce hooks: an optional command run in the application's pod before a
// source's point-in-time copy is cut (so a database can flush and hold its
// writes) and an optional one after it is cut. Commands are argv arrays in
// JSON, run without a shell unless the user writes ["sh", "-c", "..."].
import { specKeys } from './keys.ts';
import { isDnsLabel, type Parsed } from './values.ts';

export interface QuiesceSpec {
  /** argv run before the copy is cut. */
  command: string[];
  /** argv run once the copy is cut, or the sync failed; none: nothing to undo. */
  unquiesceCommand?: string[];
  /** The container to run them in; none: every container of each pod that mounts the claim. */
  container?: string;
  /** How long each command may run. */
  timeoutSeconds: number;
}

/** How the copy of the last sync was made: with the application quiesced, or as a crash would leave it. */
export type Consistency = 'ApplicationConsistent' | 'CrashConsistent';

export const defaultQuiesceTimeoutSeconds = 30;
const maxQuiesceTimeoutSeconds = 600;

/** An argv as a JSON array of non-empty strings. Pure. */
export function parseCommand(v: string): Parsed<string[]> {
  const form =
    'use a JSON array of strings, e.g. ["fsfreeze","--freeze","/data"] or ["sh","-c","sync"]';
  let argv: unknown;
  try {
    argv = JSON.parse(v);
  } catch {
    return { ok: false, message: `"${v}" is not a JSON array: ${form}` };
  }
  if (!Array.isArray(argv) || argv.length === 0)
    return { ok: false, message: `"${v}" is not a non-empty JSON array: ${form}` };
  if (!argv.every((a) => typeof a === 'string'))
    return { ok: false, message: `"${v}" holds something other than strings: ${form}` };
  if (argv[0] === '') return { ok: false, message: `"${v}" names no program: ${form}` };
  return { ok: true, value: argv as string[] };
}

export function renderCommand(argv: readonly string[]): string {
  return JSON.stringify(argv);
}

/** A duration as Kubernetes writes them (`30s`, `2m`, `1m30s`), in whole seconds. Pure. */
export function parseTimeout(v: string): Parsed<number> {
  const m = /^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$/.exec(v);
  const bad = `"${v}" is not a duration between 1s and 10m: use e.g. "30s", "2m" or "1m30s"`;
  if (!m || v === '') return { ok: false, message: bad };
  const s = Number(m[1] ?? 0) * 3600 + Number(m[2] ?? 0) * 60 + Number(m[3] ?? 0);
  if (s < 1 || s > maxQuiesceTimeoutSeconds) return { ok: false, message: bad };
  return { ok: true, value: s };
}

export function renderTimeout(seconds: number): string {
  const m = Math.floor(seconds / 60);
  const s = seconds % 60;
  return `${m ? `${m}m` : ''}${s || !m ? `${s}s` : ''}`;
}

export const quiesceSpecKeys: readonly string[] = [
  specKeys.quiesceCommand,
  specKeys.unquiesceCommand,
  specKeys.quiesceContainer,
  specKeys.quiesceTimeout,
];

/**
 * The quiesce hook of a source's annotations (undefined when it has none), and
 * what is wrong with it. `method` is the source's: a hook needs a
 * point-in-time copy to bracket. Pure.
 */
export function parseQuiesce(
  a: Record<string, string>,
  method: string | undefined,
): { quiesce?: QuiesceSpec; problems: { annotation: string; message: string }[] } {
  const problems: { annotation: string; message: string }[] = [];
  const raw = a[specKeys.quiesceCommand];
  if (raw === undefined) {
    for (const k of quiesceSpecKeys.slice(1))
      if (a[k] !== undefined)
        problems.push({
          annotation: k,
          message: `only applies with ${specKeys.quiesceCommand}: set it, or remove this annotation`,
        });
    return { problems };
  }
  const take = <T>(key: string, parse: (v: string) => Parsed<T>): T | undefined => {
    const v = a[key];
    if (v === undefined) return undefined;
    const r = parse(v);
    if (r.ok) return r.value;
    problems.push({ annotation: key, message: r.message });
    return undefined;
  };
  const command = take(specKeys.quiesceCommand, parseCommand);
  const unquiesceCommand = take(specKeys.unquiesceCommand, parseCommand);
  const container = take(specKeys.quiesceContainer, (v) =>
    isDnsLabel(v)
      ? { ok: true, value: v }
      : { ok: false, message: `"${v}" is not a container name (a DNS-1123 label)` },
  );
  const timeoutSeconds =
    take(specKeys.quiesceTimeout, parseTimeout) ?? defaultQuiesceTimeoutSeconds;
  if (method !== undefined && method !== 'snapshot' && method !== 'clone')
    problems.push({
      annotation: specKeys.quiesceCommand,
      message: `method "${method}" makes no point-in-time copy to quiesce for: use method snapshot or clone, or remove the quiesce annotations`,
    });
  if (!command || problems.length > 0) return { problems };
  return {
    quiesce: {
      command,
      ...(unquiesceCommand ? { unquiesceCommand } : {}),
      ...(container ? { container } : {}),
      timeoutSeconds,
    },
    problems,
  };
}

/** The annotations that express a quiesce hook. Pure. */
export function renderQuiesce(q: QuiesceSpec): Record<string, string> {
  const out: Record<string, string> = {
    [specKeys.quiesceCommand]: renderCommand(q.command),
    [specKeys.quiesceTimeout]: renderTimeout(q.timeoutSeconds),
  };
  if (q.unquiesceCommand) out[specKeys.unquiesceCommand] = renderCommand(q.unquiesceCommand);
  if (q.container) out[specKeys.quiesceContainer] = q.container;
  return out;
}
