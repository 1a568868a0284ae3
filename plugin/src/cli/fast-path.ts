// Invocations answered without oclif: the root help and `version`. They run
// many times a day, and oclif's import alone costs more than kubectl's start.
import { renderRootHelp } from './catalog.ts';

/** The output for argv when it needs no parsing beyond this, else undefined. */
export async function fastPath(argv: readonly string[]): Promise<string | undefined> {
  if (argv.length === 0 || (argv.length === 1 && ['--help', '-h', 'help'].includes(argv[0]!))) {
    return renderRootHelp();
  }
  if (argv[0] === 'version') {
    const output = versionOutput(argv.slice(1));
    if (output === false) return undefined; // let oclif explain what is wrong
    const { renderVersion, versionInfo } = await import('../output/version.ts');
    return renderVersion(versionInfo(), output);
  }
  return undefined;
}

/** -o json|yaml and --client as kubectl spells them; false for anything else. */
function versionOutput(args: readonly string[]): string | undefined | false {
  let output: string | undefined;
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--client' || a === '--client=true') continue;
    let v: string | undefined;
    if (a === '-o' || a === '--output') v = args[++i];
    else if (a.startsWith('--output=')) v = a.slice('--output='.length);
    else if (a.startsWith('-o=')) v = a.slice(3);
    else if (a.startsWith('-o') && a.length > 2) v = a.slice(2);
    else return false;
    if (v !== 'json' && v !== 'yaml') return false;
    output = v;
  }
  return output;
}
