// `enable pvc --read-only-copy NAME [--scrub-image IMG --scrub-command CMD]`:
// the flags become the destination's read-only-copy keys, checked by the
// model's own parser so the plugin and the webhook say the same. Pure.
import { readOnlyCopyFrom, specKeys, type ReadOnlyCopySpec } from '../../../model/src/index.ts';

export interface ReadOnlyCopyFlags {
  name?: string | undefined;
  accessMode?: string | undefined;
  storageClass?: string | undefined;
  scrubImage?: string | undefined;
  scrubCommand?: string | undefined;
  scrubTimeout?: string | undefined;
  scrubRunAsUser?: string | undefined;
}

const flagOf: Record<string, [keyof ReadOnlyCopyFlags, string]> = {
  [specKeys.readOnlyCopy]: ['name', '--read-only-copy'],
  [specKeys.readOnlyCopyAccessMode]: ['accessMode', '--read-only-copy-access-mode'],
  [specKeys.readOnlyCopyStorageClass]: ['storageClass', '--read-only-copy-storage-class'],
  [specKeys.scrubImage]: ['scrubImage', '--scrub-image'],
  [specKeys.scrubCommand]: ['scrubCommand', '--scrub-command'],
  [specKeys.scrubTimeout]: ['scrubTimeout', '--scrub-timeout'],
  [specKeys.scrubRunAsUser]: ['scrubRunAsUser', '--scrub-run-as-user'],
};

/**
 * --scrub-command takes a JSON array, or words split at whitespace (no
 * quoting, no shell): `rm -f /data/pii.csv`.
 */
export function commandAnnotation(v: string): string {
  return v.trimStart().startsWith('[') ? v : JSON.stringify(v.split(/\s+/).filter(Boolean));
}

/**
 * The read-only copy to write: the flags' when any is given (they describe
 * the whole copy), none for `--read-only-copy ''`, else what the destination
 * already has.
 */
export function planReadOnlyCopy(
  flags: ReadOnlyCopyFlags,
  current: ReadOnlyCopySpec | undefined,
  destinationName: string,
): { spec: ReadOnlyCopySpec | undefined; errors: string[] } {
  const given = Object.entries(flags).filter(([, v]) => v !== undefined);
  if (given.length === 0) return { spec: current, errors: [] };
  // --read-only-copy '' removes the copy (the replicator deletes what it made).
  if (flags.name === '') {
    const others = Object.values(flagOf)
      .filter(([field]) => field !== 'name' && flags[field] !== undefined)
      .map(([, flag]) => flag);
    return others.length
      ? {
          spec: undefined,
          errors: [`--read-only-copy '' removes the read-only copy: drop ${others.join(', ')}`],
        }
      : { spec: undefined, errors: [] };
  }
  const annotations: Record<string, string> = {};
  for (const [key, [field]] of Object.entries(flagOf)) {
    const v = flags[field];
    if (v !== undefined) annotations[key] = field === 'scrubCommand' ? commandAnnotation(v) : v;
  }
  const problems: { annotation: string; message: string }[] = [];
  const spec = readOnlyCopyFrom(annotations, problems);
  const errors = problems.map((p) => {
    const flag = flagOf[p.annotation]?.[1] ?? p.annotation;
    // The model names annotations; on the command line the flags are what the user typed.
    let message = p.message;
    for (const [key, [, f]] of Object.entries(flagOf)) message = message.replaceAll(key, f);
    return `invalid ${flag}: ${message}`;
  });
  if (spec && spec.name === destinationName) {
    errors.push(
      `--read-only-copy ${spec.name} is the destination PVC itself: name another PVC, e.g. --read-only-copy ${destinationName}-ro`,
    );
  }
  return { spec: errors.length ? undefined : spec, errors };
}
