// Parsers for the value forms the annotations use. Each returns the parsed
// value or a message that says what is wrong and what a valid value looks like.
import { createHash } from 'node:crypto';
import { CronExpressionParser } from 'cron-parser';

export type Parsed<T> = { ok: true; value: T } | { ok: false; message: string };

const dns1123Label = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const dns1123Subdomain = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

export function isDnsLabel(s: string): boolean {
  return s.length <= 63 && dns1123Label.test(s);
}

export function isDnsSubdomain(s: string): boolean {
  return s.length <= 253 && dns1123Subdomain.test(s);
}

/**
 * `base` cut to `max` characters, ending in a hash of the whole when it is
 * longer, so that two long names that share a beginning stay apart. Stable:
 * the same input always gives the same result, which lets a restarted server
 * find by name or label what it made before.
 */
export function shortened(base: string, max: number): string {
  if (base.length <= max) return base;
  const hash = createHash('sha256').update(base).digest('hex').slice(0, 8);
  return `${base.slice(0, max - 9).replace(/[-.]+$/, '')}-${hash}`;
}

export type VolumeMode = 'Filesystem' | 'Block';

export function parseVolumeMode(v: string): Parsed<VolumeMode> {
  return v === 'Filesystem' || v === 'Block'
    ? { ok: true, value: v }
    : { ok: false, message: `"${v}" is not a volume mode: use Filesystem or Block` };
}

/** A PVC in a cluster as the user's kubeconfig names it: CONTEXT/NAMESPACE/PVC. */
export interface PvcRef {
  context: string;
  namespace: string;
  name: string;
}

export function parsePvcRef(v: string): Parsed<PvcRef> {
  const parts = v.split('/');
  const form = 'use CONTEXT/NAMESPACE/PVC, e.g. "dr/prod/data"';
  if (parts.length !== 3) return { ok: false, message: `"${v}" is not a PVC reference: ${form}` };
  const [context, namespace, name] = parts as [string, string, string];
  if (!context.trim()) return { ok: false, message: `"${v}" has an empty context: ${form}` };
  if (!isDnsLabel(namespace)) {
    return {
      ok: false,
      message: `"${namespace}" in "${v}" is not a valid namespace name: ${form}`,
    };
  }
  if (!isDnsSubdomain(name)) {
    return { ok: false, message: `"${name}" in "${v}" is not a valid PVC name: ${form}` };
  }
  return { ok: true, value: { context, namespace, name } };
}

export function renderPvcRef(r: PvcRef): string {
  return `${r.context}/${r.namespace}/${r.name}`;
}

/** HOST:PORT or [IPv6]:PORT of a mover endpoint. */
export function parseEndpoint(v: string): Parsed<string> {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([A-Za-z0-9.-]+)):(\d{1,5})$/.exec(v);
  const port = m ? Number(m[3]) : 0;
  if (!m || port < 1 || port > 65535) {
    return {
      ok: false,
      message: `"${v}" is not an endpoint: use HOST:PORT or [IPv6]:PORT, e.g. "10.0.0.7:2222"`,
    };
  }
  return { ok: true, value: v };
}

export type Trigger = { kind: 'manual' } | { kind: 'schedule'; cron: string };

/** A 5-field cron expression (as a CronJob takes) or "manual". */
export function parseTrigger(v: string): Parsed<Trigger> {
  if (v === 'manual') return { ok: true, value: { kind: 'manual' } };
  const form = 'use 5 cron fields (e.g. "*/15 * * * *", "@hourly") or "manual"';
  const fields = v.trim().split(/\s+/);
  if (!v.startsWith('@') && fields.length !== 5) {
    return { ok: false, message: `"${v}" is not a schedule: ${form}` };
  }
  try {
    CronExpressionParser.parse(v, { tz: 'UTC' });
  } catch (err) {
    return { ok: false, message: `"${v}" is not a schedule (${(err as Error).message}): ${form}` };
  }
  return { ok: true, value: { kind: 'schedule', cron: v } };
}

/** When a schedule fires next after `after` (UTC), or undefined for manual. */
export function nextRun(trigger: Trigger, after: Date): Date | undefined {
  if (trigger.kind === 'manual') return undefined;
  return CronExpressionParser.parse(trigger.cron, { currentDate: after, tz: 'UTC' })
    .next()
    .toDate();
}

export function parseBool(v: string): Parsed<boolean> {
  if (v === 'true' || v === 'false') return { ok: true, value: v === 'true' };
  return { ok: false, message: `"${v}" is not a boolean: use "true" or "false"` };
}

export function parseCount(v: string, min: number, max: number): Parsed<number> {
  const n = Number(v);
  if (!/^\d+$/.test(v) || n < min || n > max) {
    return { ok: false, message: `"${v}" is not a whole number from ${min} to ${max}` };
  }
  return { ok: true, value: n };
}

const rfc3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

export function parseTime(v: string): Parsed<string> {
  if (rfc3339.test(v) && !Number.isNaN(Date.parse(v))) return { ok: true, value: v };
  return { ok: false, message: `"${v}" is not an RFC 3339 time, e.g. "2026-11-26T07:30:00Z"` };
}

/** A method name: Scribe's own or a vendor's, as a DNS-1123 subdomain. */
export function parseMethodName(v: string): Parsed<string> {
  if (isDnsSubdomain(v)) return { ok: true, value: v };
  return {
    ok: false,
    message: `"${v}" is not a method name: use live, snapshot, clone or a vendor's method (a DNS-1123 name)`,
  };
}

/**
 * A command as a JSON array of strings, run as written: no shell unless the
 * user names one (`["sh", "-c", "..."]`). `example` shows the form. Pure.
 */
export function parseArgv(v: string, example: string): Parsed<string[]> {
  const form = `use a JSON array of strings, e.g. ${example}`;
  let value: unknown;
  try {
    value = JSON.parse(v);
  } catch {
    return { ok: false, message: `"${v}" is not a JSON array: ${form}` };
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

export function renderArgv(argv: readonly string[]): string {
  return JSON.stringify(argv);
}

/** A duration as Kubernetes writes them (`30s`, `10m`, `1h30m`), in whole seconds within bounds. Pure. */
export function parseDuration(v: string, minSeconds: number, maxSeconds: number): Parsed<number> {
  const m = /^(?:(\d{1,6})h)?(?:(\d{1,6})m)?(?:(\d{1,6})s)?$/.exec(v);
  const seconds =
    m && v !== '' ? Number(m[1] ?? 0) * 3600 + Number(m[2] ?? 0) * 60 + Number(m[3] ?? 0) : -1;
  if (seconds < minSeconds || seconds > maxSeconds) {
    return {
      ok: false,
      message: `"${v}" is not a duration from ${renderDuration(minSeconds)} to ${renderDuration(maxSeconds)}: use e.g. "30s", "10m" or "1h30m"`,
    };
  }
  return { ok: true, value: seconds };
}

/** The shortest form parseDuration reads back: `90` is `1m30s`, `3600` is `1h`. */
export function renderDuration(seconds: number): string {
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = seconds % 60;
  const out = `${h ? `${h}h` : ''}${m ? `${m}m` : ''}${s ? `${s}s` : ''}`;
  return out || '0s';
}

/**
 * A reader of optional annotations: the parsed value, or undefined when the
 * key is absent or its value bad; each bad value is added to `problems`,
 * naming its annotation.
 */
export function annotationReader(
  a: Record<string, string>,
  problems: { annotation: string; message: string }[],
): <T>(key: string, parse: (v: string) => Parsed<T>) => T | undefined {
  return (key, parse) => {
    const v = a[key];
    if (v === undefined) return undefined;
    const r = parse(v);
    if (r.ok) return r.value;
    problems.push({ annotation: key, message: r.message });
    return undefined;
  };
}
