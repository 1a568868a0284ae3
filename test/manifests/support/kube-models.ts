// Validation against the Kubernetes API's own schemas, as the kubernetes-models
// packages generate them from the API's OpenAPI document (one class per kind,
// each with validate()):
//   newest: kubernetes-models 5.1.0, generated from Kubernetes 1.36;
//   oldest: kubernetes-models 4.1.0 (the dev dependency `kubernetes-models-1.24`),
//     generated from Kubernetes 1.25.0 merged with the API versions 1.24.2,
//     1.21.2 and 1.15.5 still had. No kubernetes-models release was made from
//     1.24 itself; the few fields 1.25 added are checked separately
//     (FIELDS_ADDED_IN_1_25).
// The generated validators ignore fields their schema does not name (the
// OpenAPI document has no additionalProperties: false), while the API server
// drops them or, with strict field validation, refuses them. So every field is
// probed too: a field the schema knows rejects a value of the wrong type; a
// field that accepts anything is one the schema does not have.

export const SCHEMA_SETS = {
  newest: { package: 'kubernetes-models', version: '5.1.0', kubernetes: '1.36' },
  oldest: {
    package: 'kubernetes-models-1.24',
    version: '4.1.0',
    kubernetes: '1.24 (its schemas are 1.25.0)',
  },
} as const;
export type SchemaSet = keyof typeof SCHEMA_SETS;

/** Fields Kubernetes 1.25 added to the kinds Scribe ships: the oldest set knows them, 1.24 does not. */
export const FIELDS_ADDED_IN_1_25 = [
  'hostUsers', // PodSpec
  'podFailurePolicy', // JobSpec
  'matchLabelKeys', // TopologySpreadConstraint
  'nodeAffinityPolicy',
  'nodeTaintsPolicy',
];

interface SchemaError {
  instancePath: string;
  message?: string;
}
type ModelClass = new (data: object) => { validate(): void };

const cache = new Map<string, ModelClass | undefined>();

/** The model class of a kind, or undefined when the package has none (a CRD). */
export async function modelOf(
  set: SchemaSet,
  apiVersion: string,
  kind: string,
): Promise<ModelClass | undefined> {
  const [group, version] = apiVersion.includes('/') ? apiVersion.split('/') : ['', apiVersion];
  const specifier = `${SCHEMA_SETS[set].package}/${group ? `${group}/` : ''}${version}/${kind}`;
  if (!cache.has(specifier)) {
    const mod = (await import(specifier).catch(() => undefined)) as
      Record<string, ModelClass> | undefined;
    cache.set(specifier, mod?.[kind]);
  }
  return cache.get(specifier);
}

function errorsOf(Model: ModelClass, value: object): SchemaError[] {
  try {
    new Model(value).validate();
    return [];
  } catch (err) {
    const errors = (err as { errors?: SchemaError[] }).errors;
    if (!errors) throw err;
    return errors;
  }
}

const escape = (key: string) => key.replace(/~/g, '~0').replace(/\//g, '~1');

/** JSON pointers of every object field (not array items), parents first. */
function fieldPointers(value: unknown, at = ''): string[] {
  if (Array.isArray(value)) return value.flatMap((v, i) => fieldPointers(v, `${at}/${i}`));
  if (value === null || typeof value !== 'object') return [];
  return Object.entries(value).flatMap(([k, v]) => {
    const p = `${at}/${escape(k)}`;
    return [p, ...fieldPointers(v, p)];
  });
}

function withValueAt(value: object, pointer: string, probe: unknown): object {
  const copy = structuredClone(value) as Record<string, unknown>;
  const keys = pointer
    .slice(1)
    .split('/')
    .map((k) => k.replace(/~1/g, '/').replace(/~0/g, '~'));
  let node: Record<string, unknown> = copy;
  for (const k of keys.slice(0, -1)) node = node[k] as Record<string, unknown>;
  node[keys.at(-1)!] = probe;
  return copy;
}

// No schema type accepts both: a boolean field refuses the string, every other the boolean.
const PROBES = [true, 'scribe-probe'];

/**
 * Schema errors of an object ("<pointer> <message>"), unknown fields
 * included; [] when it is valid.
 */
export function schemaErrors(Model: ModelClass, value: object): string[] {
  const errors = errorsOf(Model, value);
  if (errors.length > 0) return errors.map((e) => `${e.instancePath || '/'} ${e.message}`);
  const unknown: string[] = [];
  for (const p of fieldPointers(value)) {
    if (unknown.some((u) => p.startsWith(`${u}/`))) continue;
    const known = PROBES.some((probe) =>
      errorsOf(Model, withValueAt(value, p, probe)).some(
        (e) => e.instancePath === p || e.instancePath.startsWith(`${p}/`),
      ),
    );
    if (!known) unknown.push(p);
  }
  return unknown.map((p) => `${p} is not a field of this schema`);
}
