// Quiesce hooks: an optional command run in the application's pod before a
// source's point-in-time copy is cut (so a database can flush and hold its
// writes) and an optional one after it is cut. Commands are argv arrays in
// JSON, run without a shell unless the user writes ["sh", "-c", "..."].
import { specKeys } from './keys.ts';
import {
  isDnsLabel,
  parseArgv,
  parseDuration,
  renderArgv,
  renderDuration,
  annotationReader,
} from './values.ts';

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

const commandExample = '["fsfreeze","--freeze","/data"] or ["sh","-c","sync"]';
const parseCommand = (v: string) => parseArgv(v, commandExample);
const parseTimeout = (v: string) => parseDuration(v, 1, maxQuiesceTimeoutSeconds);

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
  const take = annotationReader(a, problems);
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
    [specKeys.quiesceCommand]: renderArgv(q.command),
    [specKeys.quiesceTimeout]: renderDuration(q.timeoutSeconds),
  };
  if (q.unquiesceCommand) out[specKeys.unquiesceCommand] = renderArgv(q.unquiesceCommand);
  if (q.container) out[specKeys.quiesceContainer] = q.container;
  return out;
}
