// A destination's read-only copy: a claim restored from its newest complete
// snapshot for others to mount (analytics, tests), refreshed after each sync,
// and optionally scrubbed first by a user's container. Parsed and rendered
// here; the destination's other keys are in spec.ts.
import { specKeys } from './keys.ts';
import {
  isDnsSubdomain,
  parseArgv,
  parseCount,
  parseDuration,
  renderDuration,
  type Parsed,
  annotationReader,
} from './values.ts';

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

const parseCommand = (v: string) => parseArgv(v, '["/bin/scrub", "--table", "users"]');
const parseTimeout = (v: string) => parseDuration(v, 10, 86_400);

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
  const take = annotationReader(a, problems);
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
    out[specKeys.scrubTimeout] = renderDuration(c.scrub.timeoutSeconds);
    if (c.scrub.runAsUser !== undefined) out[specKeys.scrubRunAsUser] = String(c.scrub.runAsUser);
  }
  return out;
}
