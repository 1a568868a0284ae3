// Label and field selectors, parsed once per request and matched per object.
// Grammar and messages follow k8s.io/apimachinery's labels and fields packages.
import type { KubeObject } from './admission-seam.ts';
import { badRequest } from './status-errors.ts';

export type LabelRequirement =
  | { op: 'exists' | '!exists'; key: string }
  | { op: '=' | '!='; key: string; value: string }
  | { op: 'in' | 'notin'; key: string; values: string[] }
  | { op: '>' | '<'; key: string; value: number };

export type LabelSelector = LabelRequirement[];

/** Splits on commas that are not inside a `( … )` value set. */
function splitTopLevel(s: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let cur = '';
  for (const ch of s) {
    if (ch === '(') depth++;
    if (ch === ')') depth--;
    if (ch === ',' && depth === 0) {
      out.push(cur);
      cur = '';
    } else cur += ch;
  }
  out.push(cur);
  return out;
}

const LABEL_KEY =
  /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

function checkKey(key: string): string {
  if (!LABEL_KEY.test(key) || key.length > 316) {
    throw badRequest(`unable to parse requirement: invalid label key "${key}"`);
  }
  return key;
}
function checkValue(v: string): string {
  if (!LABEL_VALUE.test(v) || v.length > 63) {
    throw badRequest(`unable to parse requirement: invalid label value: "${v}"`);
  }
  return v;
}

/** Parses `a=b,c!=d,e in (f,g),!h,i`; throws a 400 Status on bad input. */
export function parseLabelSelector(raw: string | undefined): LabelSelector {
  if (!raw || raw.trim() === '') return [];
  return splitTopLevel(raw).map((part): LabelRequirement => {
    const p = part.trim();
    let m = /^!\s*(\S+)$/.exec(p);
    if (m) return { op: '!exists', key: checkKey(m[1]!) };
    m = /^(\S+?)\s+(in|notin)\s*\(([^)]*)\)$/.exec(p);
    if (m) {
      const values = m[3]!.split(',').map((v) => checkValue(v.trim()));
      return { op: m[2] as 'in' | 'notin', key: checkKey(m[1]!), values };
    }
    m = /^([^=!<>\s]+)\s*(==|=|!=)\s*(\S*)$/.exec(p);
    if (m) {
      return { op: m[2] === '!=' ? '!=' : '=', key: checkKey(m[1]!), value: checkValue(m[3]!) };
    }
    m = /^([^=!<>\s]+)\s*([<>])\s*(-?\d+)$/.exec(p);
    if (m) return { op: m[2] as '<' | '>', key: checkKey(m[1]!), value: Number(m[3]) };
    if (/^[^=!<>\s()]+$/.test(p)) return { op: 'exists', key: checkKey(p) };
    throw badRequest(`unable to parse requirement: found '${p}', expected: ',' or 'end of string'`);
  });
}

export function matchLabels(
  sel: LabelSelector,
  labels: Record<string, string> | undefined,
): boolean {
  const l = labels ?? {};
  return sel.every((r) => {
    const has = Object.hasOwn(l, r.key);
    const v = l[r.key];
    switch (r.op) {
      case 'exists':
        return has;
      case '!exists':
        return !has;
      case '=':
        return has && v === r.value;
      case '!=':
        return !has || v !== r.value;
      case 'in':
        return has && r.values.includes(v!);
      case 'notin':
        return !has || !r.values.includes(v!);
      case '>':
        return has && Number(v) > r.value;
      case '<':
        return has && Number(v) < r.value;
    }
  });
}

export interface FieldRequirement {
  field: string;
  op: '=' | '!=';
  value: string;
}

/** The field labels each resource supports beyond metadata.name / metadata.namespace. */
const FIELD_LABELS: Record<string, string[]> = {
  pods: [
    'spec.nodeName',
    'spec.restartPolicy',
    'spec.schedulerName',
    'spec.serviceAccountName',
    'status.phase',
    'status.podIP',
    'status.nominatedNodeName',
  ],
  events: [
    'involvedObject.kind',
    'involvedObject.namespace',
    'involvedObject.name',
    'involvedObject.uid',
    'involvedObject.apiVersion',
    'involvedObject.resourceVersion',
    'involvedObject.fieldPath',
    'reason',
    'reportingComponent',
    'source',
    'type',
  ],
  secrets: ['type'],
  nodes: ['spec.unschedulable'],
  namespaces: ['status.phase'],
  persistentvolumes: ['spec.storageClassName'],
  jobs: ['status.successful'],
};

export function parseFieldSelector(raw: string | undefined, resource: string): FieldRequirement[] {
  if (!raw || raw.trim() === '') return [];
  const allowed = ['metadata.name', 'metadata.namespace', ...(FIELD_LABELS[resource] ?? [])];
  return raw.split(',').map((part) => {
    const m = /^\s*([^=!\s]+)\s*(==|=|!=)\s*(.*?)\s*$/.exec(part);
    if (!m) throw badRequest(`invalid selector: '${raw}'; can't understand '${part}'`);
    const field = m[1]!;
    if (!allowed.includes(field)) throw badRequest(`field label not supported: ${field}`);
    return { field, op: m[2] === '!=' ? '!=' : '=', value: m[3]! };
  });
}

/** The value of a field label on an object ("" when unset, as the server sees it). */
export function fieldValue(obj: KubeObject, field: string): string {
  if (field === 'source') {
    const src = (obj as { source?: { component?: string } }).source;
    return src?.component ?? '';
  }
  if (field === 'status.successful') {
    const n = (obj as { status?: { succeeded?: number } }).status?.succeeded;
    return String(n ?? 0);
  }
  let cur: unknown = obj;
  for (const seg of field.split('.')) {
    if (cur === null || typeof cur !== 'object') return '';
    cur = (cur as Record<string, unknown>)[seg];
  }
  return cur === undefined || cur === null ? '' : String(cur);
}

export function matchFields(sel: FieldRequirement[], obj: KubeObject): boolean {
  return sel.every((r) => (fieldValue(obj, r.field) === r.value) === (r.op === '='));
}
