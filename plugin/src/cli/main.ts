// The oclif entry: configuration held in memory (no package.json of its own,
// no manifest, no directory scan), the command map and help class imported
// here, so the same code runs from the sources and bundled into the
// standalone binary (release/build), where no source file exists on disk.
import { fileURLToPath } from 'node:url';
import { Config, Errors, Plugin, run, settings } from '@oclif/core';
import { commands } from '../commands/index.ts';
import { VERSION } from '../version.ts';
import { topics } from './catalog.ts';
import ScribeHelp from './help.ts';

// Sources run as TypeScript under Node's type stripping: oclif must not look
// for ts-node or tsx (it would, when NODE_ENV is test or development).
settings.enableAutoTranspile = false;

const root = fileURLToPath(new URL('../..', import.meta.url));

function pjson() {
  return {
    name: 'kubectl-scribe',
    version: VERSION,
    type: 'module',
    oclif: {
      bin: 'kubectl scribe',
      dirname: 'kubectl-scribe',
      topicSeparator: ' ' as const,
      // oclif would import this target from disk; rootPlugin() hands it the map.
      commands: {
        strategy: 'explicit' as const,
        target: './src/commands/index.ts',
        identifier: 'commands',
      },
      topics,
      additionalHelpFlags: ['-h'],
    },
  };
}

const helpFlags = ['--help', '-h'];

/** oclif's rule for a help request: no arguments, or a help flag before `--`. */
function wantsHelp(argv: readonly string[]): boolean {
  if (argv.length === 0) return true;
  for (const a of argv) {
    if (a === '--') return false;
    if (helpFlags.includes(a)) return true;
  }
  return false;
}

/**
 * The root plugin with its commands already in memory. oclif's explicit
 * strategy imports `target` from a path under root and caches the export;
 * seeding that cache (a private field) is what keeps discovery off the disk.
 */
async function rootPlugin(): Promise<Plugin> {
  const plugin = new Plugin({ root, pjson: pjson() as never, isRoot: true, ignoreManifest: true });
  Object.assign(plugin, { commandCache: commands });
  await plugin.load();
  return plugin;
}

/** Runs one invocation; returns the exit status (errors printed as kubectl prints them). */
export async function main(argv: string[]): Promise<number> {
  // kubectl's `help COMMAND` form; oclif has no help command of its own here.
  if (argv[0] === 'help') argv = [...argv.slice(1), '--help'];
  try {
    const plugin = await rootPlugin();
    const config = await Config.load({ root, plugins: new Map([[plugin.name, plugin]]) });
    if (wantsHelp(argv)) await new ScribeHelp(config).showHelp(argv);
    else await run(argv, config);
    return 0;
  } catch (err) {
    return reportError(err, argv);
  }
}

export function reportError(err: unknown, argv: readonly string[] = []): number {
  if (err instanceof Errors.ExitError) return err.oclif.exit ?? 0;
  const e = err as Error & { exitCode?: number; oclif?: { exit?: number } };
  process.stderr.write(`error: ${kubectlTone(e?.message ?? String(err), argv)}\n`);
  if (process.env.SCRIBE_DEBUG && e?.stack) process.stderr.write(`${e.stack}\n`);
  return e?.exitCode ?? 1;
}

/** oclif's parse errors, reworded as kubectl words them, on one line. */
export function kubectlTone(message: string, argv: readonly string[]): string {
  const words = argv.filter((a) => !a.startsWith('-'));
  const cmd = words
    .slice(
      0,
      ['status', 'version', 'install', 'uninstall', 'doctor'].includes(words[0] ?? '') ? 1 : 2,
    )
    .join(' ');
  const help = `see kubectl scribe ${cmd ? `${cmd} ` : ''}--help`;
  let m = message
    .replace(/^The following errors? occurred:\s*/, '')
    .replace(/\s*See more help with --help\s*$/, '')
    .trim();
  let r: RegExpExecArray | null;
  if ((r = /^Missing required flag (\S+)/.exec(m)))
    return `required flag "--${r[1]}" not set; ${help}`;
  if ((r = /^Missing \d+ required args?:\n(\S+)/.exec(m))) {
    return `required argument ${r[1]!.toUpperCase()} not given; ${help}`;
  }
  if ((r = /^Nonexistent flags?: (.+)/.exec(m))) return `unknown flag: ${r[1]}; ${help}`;
  if ((r = /^command (.+) not found$/.exec(m))) {
    return `unknown command "${r[1]!.replace(/:/g, ' ')}" for "kubectl scribe"; see kubectl scribe --help`;
  }
  if (/^(Expected|Unexpected argument|Flag --)/.test(m)) m = `${m}; ${help}`;
  return m.replace(/\n+/g, '; ');
}
