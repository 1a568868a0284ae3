// A destination's read-only copy: a claim restored from its newest complete
// snapshot for others to mount (analytics, tests), refreshed after each sync,
// and optionally scrubbed first by a user's container. Parsed and rendered
// here; the destination's other keys are in spec.ts.
import { specKeys } from './keys.ts';
import { isDnsSubdomain, parseCount, type Parsed } from './values.ts';

export type CopyAccessMode =
  'ReadOnlyMany' | 'ReadWriteOnce' | 'ReadWriteMany' | 'ReadWriteOncePod';

export interface ScrubSpec {
  image: string;
  /** The container's command (argv); never passed through a shell by Scribe. */
  command: string[];
  /** The scrub Job's activeDeadlineSeconds. */
  timeoutSeconds: number;
  /** Run as this UID with no capabilities; unset: as root with only file-ownership capabilities. */
  runAsUser?: number;
}

export interface ReadOnlyCopySpec {
  /** The claim readers mount, in the destination's namespace. */
  name: string;
  accessMode: CopyAccessMode;
  /** Default: the destination's StorageClass. */
  storageClass?: string;
  scrub?: ScrubSpec;
}

export const defaultScrubTimeoutSeconds = 600;
const accessModes: readonly CopyAccessMode[] = [
  'ReadOnlyMany',
  'ReadWriteOnce',
  'ReadWriteMany',
  'ReadWriteOncePod',
];

export function parseCopyAccessMode(v: string): Parsed<CopyAccessMode> {
  return (accessModes as readonly string[]).includes(v)
    ? { ok: true, value: v as CopyAccessMode }
    : { ok: false, message: `"${v}" is not an access mode: use ${accessModes.join(', ')}` };
}

export function parseClaimName(v: string): Parsed<string> {
  return isDnsSubdomain(v)
    ? { ok: true, value: v }
    : {
        ok: false,
        message: `"${v}" is not a valid PVC name (a DNS-1123 subdomain, e.g. "data-ro")`,
      };
}

// [registry[:port]/]path[:tag][@sha256:digest], as the distribution reference grammar has it.
const component = '[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*';
const imageRef = new RegExp(
  `^(?:[a-zA-Z0-9-]+(?:\\.[a-zA-Z0-9-]+)*(?::\\d+)?/)?${component}(?:/${component})*` +
    `(?::[\\w][\\w.-]{0,127})?(?:@sha256:[0-9a-f]{64})?$`,
);

export function parseImage(v: string): Parsed<string> {
  return v.length <= 512 && imageRef.test(v)
    ? { ok: true, value: v }
    : {
        ok: false,
        message: `"${v}" is not an image reference: use e.g. "registry.example.com/tools/scrub:1.2"`,
      };
}

/**
 * A JSON array of strings: the container's command, run as written (no shell
 * unless the user names one as its first word).
 */
export function parseCommand(v: string): Parsed<string[]> {
  const form = 'use a JSON array of strings, e.g. ["/bin/scrub", "--table", "users"]';
  let value: unknown;
  try {
    value = JSON.parse(v);
  } catch {
    return { ok: false, message: `not valid JSON: ${form}` };
  }
  if (
    !Array.isArray(value) ||
    value.length === 0 ||
    value.length > 256 ||
    !value.every((w) => typeof w === 'string' && !w.includes('\0')) ||
    value[0] === ''
  ) {
    return { ok: false, message: `${JSON.stringify(value)} is not a command: ${form}` };
  }
  return { ok: true, value: value as string[] };
}

/** A duration in whole seconds, minutes or hours, from 10s to 24h. */
export function parseTimeout(v: string): Parsed<number> {
  const m = /^(\d{1,6})(s|m|h)$/.exec(v);
  const seconds = m ? Number(m[1]) * { s: 1, m: 60, h: 3600 }[m[2] as 's' | 'm' | 'h'] : 0;
  if (seconds < 10 || seconds > 86_400) {
    return {
      ok: false,
      message: `"${v}" is not a timeout from 10s to 24h: use e.g. "600s", "10m" or "1h"`,
    };
  }
  return { ok: true, value: seconds };
}

export function renderTimeout(seconds: number): string {
  if (seconds % 3600 === 0) return `${seconds / 3600}h`;
  if (seconds % 60 === 0) return `${seconds / 60}m`;
  return `${seconds}s`;
}

const scrubKeys = [
  specKeys.scrubImage,
  specKeys.scrubCommand,
  specKeys.scrubTimeout,
  specKeys.scrubRunAsUser,
] as const;
const copyKeys = [specKeys.readOnlyCopyAccessMode, specKeys.readOnlyCopyStorageClass] as const;

/**
 * The read-only copy a destination's annotations ask for, or undefined.
 * Problems go into `problems`, each naming its annotation.
 */
export function readOnlyCopyFrom(
  a: Record<string, string>,
  problems: { annotation: string; message: string }[],
): ReadOnlyCopySpec | undefined {
  const take = <T>(key: string, parse: (v: string) => Parsed<T>): T | undefined => {
    const v = a[key];
    if (v === undefined) return undefined;
    const r = parse(v);
    if (r.ok) return r.value;
    problems.push({ annotation: key, message: r.message });
    return undefined;
  };
  const before = problems.length;
  const name = take(specKeys.readOnlyCopy, parseClaimName);
  if (a[specKeys.readOnlyCopy] === undefined) {
    for (const k of [...copyKeys, ...scrubKeys]) {
      if (a[k] !== undefined) {
        problems.push({
          annotation: k,
          message: `applies to a read-only copy: set ${specKeys.readOnlyCopy} to the copy's PVC name too`,
        });
      }
    }
    return undefined;
  }
  const accessMode = take(specKeys.readOnlyCopyAccessMode, parseCopyAccessMode) ?? 'ReadOnlyMany';
  const storageClass = take(specKeys.readOnlyCopyStorageClass, (v) =>
    isDnsSubdomain(v)
      ? { ok: true, value: v }
      : { ok: false, message: `"${v}" is not a valid StorageClass name (a DNS-1123 subdomain)` },
  );
  const image = take(specKeys.scrubImage, parseImage);
  const command = take(specKeys.scrubCommand, parseCommand);
  const timeoutSeconds = take(specKeys.scrubTimeout, parseTimeout) ?? defaultScrubTimeoutSeconds;
  const runAsUser = take(specKeys.scrubRunAsUser, (v) => {
    const r = parseCount(v, 1, 2_147_483_647);
    return r.ok ? r : { ok: false, message: `"${v}" is not a non-root UID (1 to 2147483647)` };
  });
  const scrubbing = scrubKeys.some((k) => a[k] !== undefined);
  if (scrubbing && a[specKeys.scrubImage] === undefined) {
    problems.push({
      annotation: specKeys.scrubImage,
      message: `missing: a scrub step needs the image to run (${specKeys.scrubCommand} says what it runs)`,
    });
  }
  if (scrubbing && a[specKeys.scrubCommand] === undefined) {
    problems.push({
      annotation: specKeys.scrubCommand,
      message: 'missing: a scrub step needs its command, a JSON array such as ["/bin/scrub"]',
    });
  }
  if (problems.length > before || !name) return undefined;
  return {
    name,
    accessMode,
    ...(storageClass !== undefined ? { storageClass } : {}),
    ...(image && command
      ? {
          scrub: {
            image,
            command,
            timeoutSeconds,
            ...(runAsUser !== undefined ? { runAsUser } : {}),
          },
        }
      : {}),
  };
}

/** The annotations that express a read-only copy (spec keys only). */
export function renderReadOnlyCopy(c: ReadOnlyCopySpec | undefined): Record<string, string> {
  if (!c) return {};
  const out: Record<string, string> = {
    [specKeys.readOnlyCopy]: c.name,
    [specKeys.readOnlyCopyAccessMode]: c.accessMode,
  };
  if (c.storageClass !== undefined) out[specKeys.readOnlyCopyStorageClass] = c.storageClass;
  if (c.scrub) {
    out[specKeys.scrubImage] = c.scrub.image;
    out[specKeys.scrubCommand] = JSON.stringify(c.scrub.command);
    out[specKeys.scrubTimeout] = renderTimeout(c.scrub.timeoutSeconds);
    if (c.scrub.runAsUser !== undefined) out[specKeys.scrubRunAsUser] = String(c.scrub.runAsUser);
  }
  return out;
}
