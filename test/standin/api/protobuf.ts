// Kubernetes' protobuf encoding, decode side: kubectl's typed clients
// (`kubectl create namespace|secret|configmap|job|role ...`) send
// `application/vnd.kubernetes.protobuf` bodies: the magic `k8s\0`, then a
// runtime.Unknown envelope whose raw bytes are the object's message. Answers
// stay JSON, which those clients accept.
import { PROTO_SCHEMA } from './protobuf-schema.ts';
import { badRequest } from './status-errors.ts';

interface Field {
  num: number;
  name: string;
  type: string;
  repeated: boolean;
  ref?: string;
}

const parsed = new Map<string, Map<number, Field>>();

function schema(message: string): Map<number, Field> {
  let m = parsed.get(message);
  if (m) return m;
  const spec = PROTO_SCHEMA[message];
  if (spec === undefined) throw badRequest(`protobuf: no schema for ${message}`);
  m = new Map();
  for (const part of spec.split(', ').filter((p) => p !== '')) {
    const [num, name, type, ref] = part.split(' ') as [string, string, string, string | undefined];
    const f: Field = {
      num: Number(num),
      name,
      type: type.replace('*', ''),
      repeated: type.endsWith('*'),
    };
    if (ref) f.ref = ref;
    m.set(f.num, f);
  }
  parsed.set(message, m);
  return m;
}

class Reader {
  private pos = 0;
  private readonly buf: Buffer;
  constructor(buf: Buffer) {
    this.buf = buf;
  }
  get done(): boolean {
    return this.pos >= this.buf.length;
  }
  varint(): bigint {
    let result = 0n;
    let shift = 0n;
    for (;;) {
      if (this.pos >= this.buf.length) throw badRequest('protobuf: truncated varint');
      const b = this.buf[this.pos++]!;
      result |= BigInt(b & 0x7f) << shift;
      if (b < 0x80) return result;
      shift += 7n;
    }
  }
  bytes(): Buffer {
    const len = Number(this.varint());
    if (this.pos + len > this.buf.length) throw badRequest('protobuf: truncated field');
    const b = this.buf.subarray(this.pos, this.pos + len);
    this.pos += len;
    return b;
  }
  fixed(n: 4 | 8): Buffer {
    const b = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return b;
  }
}

type Raw = { wire: number; v: bigint | Buffer };

function rawFields(buf: Buffer): [number, Raw][] {
  const r = new Reader(buf);
  const out: [number, Raw][] = [];
  while (!r.done) {
    const key = Number(r.varint());
    const wire = key & 7;
    const num = key >>> 3;
    if (wire === 0) out.push([num, { wire, v: r.varint() }]);
    else if (wire === 2) out.push([num, { wire, v: r.bytes() }]);
    else if (wire === 5) out.push([num, { wire, v: r.fixed(4) }]);
    else if (wire === 1) out.push([num, { wire, v: r.fixed(8) }]);
    else throw badRequest(`protobuf: unsupported wire type ${wire}`);
  }
  return out;
}

function toInt(v: bigint): number {
  // int32 negatives arrive as 64-bit two's complement.
  return Number(BigInt.asIntN(64, v));
}

function rfc3339(seconds: number, nanos: number, micro: boolean): string {
  const d = new Date(seconds * 1000).toISOString().replace(/\.\d+Z$/, '');
  return micro ? `${d}.${String(Math.floor(nanos / 1000)).padStart(6, '0')}Z` : `${d}Z`;
}

/** Messages with a JSON form of their own. */
function special(ref: string, buf: Buffer): unknown {
  const f = new Map(rawFields(buf).map(([n, r]) => [n, r.v]));
  const int = (n: number): number => (typeof f.get(n) === 'bigint' ? toInt(f.get(n) as bigint) : 0);
  const str = (n: number): string =>
    f.get(n) instanceof Buffer ? (f.get(n) as Buffer).toString('utf8') : '';
  switch (ref) {
    case 'meta.Time':
      return int(1) === 0 && int(2) === 0 ? null : rfc3339(int(1), int(2), false);
    case 'meta.MicroTime':
      return int(1) === 0 && int(2) === 0 ? null : rfc3339(int(1), int(2), true);
    case 'meta.Duration':
      return `${int(1) / 1e9}s`;
    case 'util.intstr.IntOrString':
      return int(1) === 1 ? str(3) : int(2);
    case 'api.resource.Quantity':
      return str(1);
    case 'runtime.RawExtension':
    case 'meta.FieldsV1': {
      const raw = str(1);
      return raw ? (JSON.parse(raw) as unknown) : {};
    }
    default:
      return undefined;
  }
}

const SPECIAL = new Set([
  'meta.Time',
  'meta.MicroTime',
  'meta.Duration',
  'util.intstr.IntOrString',
  'api.resource.Quantity',
  'runtime.RawExtension',
  'meta.FieldsV1',
]);

function scalar(type: string, r: Raw): unknown {
  switch (type) {
    case 's':
      return (r.v as Buffer).toString('utf8');
    case 'b':
      return (r.v as Buffer).toString('base64');
    case '?':
      return r.v !== 0n;
    case 'i':
      return toInt(r.v as bigint);
    case 'd':
      return (r.v as Buffer).readDoubleLE(0);
    case 'f':
      return (r.v as Buffer).readFloatLE(0);
    default:
      return undefined;
  }
}

function value(type: string, ref: string | undefined, r: Raw): unknown {
  if (type === 'm')
    return SPECIAL.has(ref!) ? special(ref!, r.v as Buffer) : decodeMessage(ref!, r.v as Buffer);
  return scalar(type, r);
}

/** Go's zero values are sent for non-pointer fields; JSON omits them. */
function isEmpty(v: unknown): boolean {
  if (v === '' || v === 0 || v === false || v === null || v === undefined) return true;
  return typeof v === 'object' && !Array.isArray(v) && Object.keys(v).length === 0;
}

export function decodeMessage(message: string, buf: Buffer): Record<string, unknown> {
  const fields = schema(message);
  const out: Record<string, unknown> = {};
  for (const [num, r] of rawFields(buf)) {
    const f = fields.get(num);
    if (!f) continue;
    if (f.type === 'M') {
      const [k, vr] = [
        new Map(rawFields(r.v as Buffer)).get(1),
        new Map(rawFields(r.v as Buffer)).get(2),
      ];
      const vtype = f.ref!.slice('map:'.length);
      const key = k ? (k.v as Buffer).toString('utf8') : '';
      const map = (out[f.name] ??= {}) as Record<string, unknown>;
      const isMsg = vtype.includes('.');
      map[key] = vr
        ? value(isMsg ? 'm' : vtype, isMsg ? vtype : undefined, vr)
        : isMsg
          ? {}
          : scalar(vtype, { wire: 2, v: Buffer.alloc(0) });
      continue;
    }
    if (f.repeated && r.wire === 2 && f.type === 'i') {
      // packed repeated integers
      const rd = new Reader(r.v as Buffer);
      const list = (out[f.name] ??= []) as unknown[];
      while (!rd.done) list.push(toInt(rd.varint()));
      continue;
    }
    const v = value(f.type, f.ref, r);
    if (f.repeated) ((out[f.name] ??= []) as unknown[]).push(v);
    else out[f.name] = v;
  }
  // JSON order (the Go struct's), zero values dropped.
  const ordered: Record<string, unknown> = {};
  for (const f of fields.values()) {
    const v = out[f.name];
    if (f.repeated || f.type === 'M' ? v !== undefined : !isEmpty(v)) ordered[f.name] = v;
  }
  return ordered;
}

const PACKAGES: Record<string, string> = {
  v1: 'core.v1',
  'apps/v1': 'apps.v1',
  'batch/v1': 'batch.v1',
  'rbac.authorization.k8s.io/v1': 'rbac.v1',
  'authorization.k8s.io/v1': 'authorization.v1',
  'storage.k8s.io/v1': 'storage.v1',
  'coordination.k8s.io/v1': 'coordination.v1',
};

const MAGIC = Buffer.from([0x6b, 0x38, 0x73, 0x00]);

/** Decodes a `k8s\0` + runtime.Unknown body into the object's JSON form. */
export function decodeProtobufObject(body: Buffer): Record<string, unknown> {
  if (body.length < 4 || !body.subarray(0, 4).equals(MAGIC)) {
    throw badRequest('provided protobuf data does not have the expected magic number');
  }
  const unknown = decodeMessage('runtime.Unknown', body.subarray(4));
  const typeMeta = (unknown.typeMeta ?? {}) as { apiVersion?: string; kind?: string };
  const pkg = PACKAGES[typeMeta.apiVersion ?? ''];
  const message = pkg && typeMeta.kind ? `${pkg}.${typeMeta.kind}` : undefined;
  if (!message || PROTO_SCHEMA[message] === undefined) {
    throw badRequest(
      `protobuf: no kind "${typeMeta.kind}" is registered for version "${typeMeta.apiVersion}"`,
    );
  }
  const raw = Buffer.from((unknown.raw as string | undefined) ?? '', 'base64');
  return { kind: typeMeta.kind, apiVersion: typeMeta.apiVersion, ...decodeMessage(message, raw) };
}
