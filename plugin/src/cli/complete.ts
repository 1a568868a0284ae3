// Shell completion in cobra's protocol, which kubectl speaks for plugins:
// kubectl runs `kubectl_complete-scribe WORDS...` (the words after
// `kubectl scribe`, the last one being completed) and reads candidates, one
// per line, then `:<directive>`.
import { catalog, topics } from './catalog.ts';

/** cobra's ShellCompDirective bits. */
export const directive = {
  default: 0,
  error: 1,
  noSpace: 2,
  noFileComp: 4,
} as const;

export interface FlagInfo {
  name: string;
  char?: string | undefined;
  takesValue: boolean;
  options?: readonly string[] | undefined;
}

/** What completion needs from the world: flags per command and cluster lookups. */
export interface CompletionSource {
  flagsOf(commandId: string): FlagInfo[];
  contexts(flags: Record<string, string>): string[];
  clusters(flags: Record<string, string>): string[];
  users(flags: Record<string, string>): string[];
  namespaces(flags: Record<string, string>): Promise<string[]>;
  /** PVC names; `replicated` keeps only those with a Scribe source spec. */
  pvcs(flags: Record<string, string>, replicated: boolean): Promise<string[]>;
  /** The target names of a source PVC (its destinations). */
  targets(flags: Record<string, string>, pvc: string): Promise<string[]>;
}

export interface Completion {
  candidates: string[];
  directive: number;
}

const methodValues = ['auto', 'clone', 'snapshot', 'live'];

function commandOf(words: string[]): { id?: string; positional: string[] } {
  const [a, b, ...rest] = words;
  if (a && topics[a] && b && catalog.some((c) => c.id === `${a}:${b}`)) {
    return { id: `${a}:${b}`, positional: rest };
  }
  if (a && catalog.some((c) => c.id === a)) return { id: a, positional: words.slice(1) };
  return { positional: words };
}

export async function complete(
  argsIn: readonly string[],
  src: CompletionSource,
): Promise<Completion> {
  const args = argsIn[0] === '__complete' ? argsIn.slice(1) : [...argsIn];
  const toComplete = args.length ? args[args.length - 1]! : '';
  const before = args.slice(0, -1);

  // Split the words before the cursor into positionals and flag values.
  const words: string[] = [];
  const flagValues: Record<string, string> = {};
  let pendingFlag: FlagInfo | undefined;
  let id: string | undefined;
  const flagsFor = () => (id ? src.flagsOf(id) : []);
  const lookup = (token: string): FlagInfo | undefined => {
    const all = flagsFor();
    if (token.startsWith('--')) return all.find((f) => f.name === token.slice(2).split('=')[0]);
    return all.find((f) => f.char === token.slice(1, 2));
  };
  for (const w of before) {
    if (pendingFlag) {
      flagValues[pendingFlag.name] = w;
      pendingFlag = undefined;
      continue;
    }
    if (w.startsWith('-') && w !== '-') {
      const f = lookup(w);
      if (f?.takesValue) {
        if (w.includes('=')) flagValues[f.name] = w.slice(w.indexOf('=') + 1);
        else if (!w.startsWith('--') && w.length > 2) flagValues[f.name] = w.slice(2);
        else pendingFlag = f;
      }
      continue;
    }
    words.push(w);
    id = commandOf(words).id;
  }

  const filter = (xs: readonly string[], prefix = '') =>
    xs.filter((x) => x.startsWith(toComplete.slice(prefix.length))).map((x) => prefix + x);

  // The value of a flag: after `--flag ` or inside `--flag=`.
  let valueFlag = pendingFlag;
  let prefix = '';
  if (!valueFlag && toComplete.startsWith('--') && toComplete.includes('=')) {
    valueFlag = lookup(toComplete);
    prefix = toComplete.slice(0, toComplete.indexOf('=') + 1);
  }
  if (valueFlag) {
    const pvc = commandOf(words).positional[0];
    return {
      candidates: filter(await flagValueCandidates(valueFlag, flagValues, src, pvc), prefix),
      directive: valueFlag.name === 'kubeconfig' ? directive.default : directive.noFileComp,
    };
  }

  if (toComplete.startsWith('-')) {
    const names = flagsFor().flatMap((f) => [`--${f.name}`, ...(f.char ? [`-${f.char}`] : [])]);
    return { candidates: filter([...names, '--help']), directive: directive.noFileComp };
  }

  const { id: cmd, positional } = commandOf(words);
  if (!cmd) {
    if (words.length === 0) {
      const first = [...new Set(catalog.map((c) => c.id.split(':')[0]!))];
      return { candidates: filter(first), directive: directive.noFileComp };
    }
    if (words.length === 1 && topics[words[0]!]) {
      const nouns = catalog
        .filter((c) => c.id.startsWith(`${words[0]}:`))
        .map((c) => c.id.split(':')[1]!);
      return { candidates: filter(nouns), directive: directive.noFileComp };
    }
    return { candidates: [], directive: directive.noFileComp };
  }
  if (cmd === 'status') {
    if (positional.length === 0)
      return { candidates: filter(['pvc']), directive: directive.noFileComp };
    if (positional.length === 1) {
      return {
        candidates: filter(await src.pvcs(flagValues, true)),
        directive: directive.noFileComp,
      };
    }
    return { candidates: [], directive: directive.noFileComp };
  }
  if (cmd.endsWith(':pvc') && positional.length === 0) {
    const replicated = cmd !== 'enable:pvc';
    return {
      candidates: filter(await src.pvcs(flagValues, replicated)),
      directive: directive.noFileComp,
    };
  }
  return { candidates: [], directive: directive.noFileComp };
}

async function flagValueCandidates(
  f: FlagInfo,
  flags: Record<string, string>,
  src: CompletionSource,
  pvc: string | undefined,
): Promise<string[]> {
  switch (f.name) {
    case 'target':
      return pvc ? src.targets(flags, pvc) : [];
    case 'context':
    case 'to':
      return src.contexts(flags);
    case 'cluster':
      return src.clusters(flags);
    case 'user':
      return src.users(flags);
    case 'namespace':
      return src.namespaces(flags);
    case 'method':
      return methodValues;
    case 'kubeconfig':
      return [];
    default:
      return [...(f.options ?? [])];
  }
}

/** cobra's wire format. */
export function renderCompletion(c: Completion): string {
  return [...c.candidates, `:${c.directive}`].join('\n') + '\n';
}
