// Error answers as kube-apiserver 1.24 words them (fixtures/kube-1.24/errors/):
// a v1 Status whose key order matches the server's, so bodies compare byte for
// byte once names differ.
import type { V1Status, V1StatusCause } from '@kubernetes/client-node';
import { ApiError } from './admission-seam.ts';

function status(
  code: number,
  reason: string | undefined,
  message: string,
  details?: V1Status['details'],
  metadata: V1Status['metadata'] = {},
): ApiError {
  const s: V1Status = { kind: 'Status', apiVersion: 'v1', metadata, status: 'Failure', message };
  if (reason !== undefined) s.reason = reason;
  if (details !== undefined) s.details = details;
  s.code = code;
  return new ApiError(s);
}

/** details as the server orders them: name, group, kind, uid, causes. */
function details(name: string | undefined, group: string, kind: string): V1Status['details'] {
  const d: V1Status['details'] = {};
  if (name) d.name = name;
  if (group) d.group = group;
  d.kind = kind;
  return d;
}

/** `persistentvolumeclaims` or `deployments.apps`, as messages name a resource. */
export function qualified(group: string, resource: string): string {
  return group ? `${resource}.${group}` : resource;
}

export function notFound(group: string, resource: string, name: string): ApiError {
  return status(
    404,
    'NotFound',
    `${qualified(group, resource)} "${name}" not found`,
    details(name, group, resource),
  );
}

export function alreadyExists(group: string, resource: string, name: string): ApiError {
  return status(
    409,
    'AlreadyExists',
    `${qualified(group, resource)} "${name}" already exists`,
    details(name, group, resource),
  );
}

export function conflict(group: string, resource: string, name: string, why: string): ApiError {
  return status(
    409,
    'Conflict',
    `Operation cannot be fulfilled on ${qualified(group, resource)} "${name}": ${why}`,
    details(name, group, resource),
  );
}

export const STALE_OBJECT =
  'the object has been modified; please apply your changes to the latest version and try again';

export interface FieldError {
  /** FieldValueInvalid, FieldValueRequired, FieldValueForbidden, FieldValueNotSupported, ... */
  reason: string;
  field: string;
  /** The cause's message, e.g. `Invalid value: "x": must be ...`. */
  message: string;
}

export function invalidValue(field: string, value: unknown, detail: string): FieldError {
  return {
    reason: 'FieldValueInvalid',
    field,
    message: `Invalid value: ${goValue(value)}: ${detail}`,
  };
}
export function required(field: string, detail = ''): FieldError {
  return {
    reason: 'FieldValueRequired',
    field,
    message: detail ? `Required value: ${detail}` : 'Required value',
  };
}
export function forbidden(field: string, detail: string): FieldError {
  return { reason: 'FieldValueForbidden', field, message: `Forbidden: ${detail}` };
}
export function notSupported(field: string, value: unknown, supported: string[]): FieldError {
  const list = supported.map((s) => JSON.stringify(s)).join(', ');
  return {
    reason: 'FieldValueNotSupported',
    field,
    message: `Unsupported value: ${goValue(value)}: supported values: ${list}`,
  };
}
export function duplicate(field: string, value: unknown): FieldError {
  return { reason: 'FieldValueDuplicate', field, message: `Duplicate value: ${goValue(value)}` };
}

/** Go's %q-ish rendering that field errors use for values. */
function goValue(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v);
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return JSON.stringify(v);
}

/** 422: `Kind "name" is invalid: field: message` (several causes: `[a: x, b: y]`). */
export function invalid(group: string, kind: string, name: string, errs: FieldError[]): ApiError {
  const parts = errs.map((e) => `${e.field}: ${e.message}`);
  const joined = parts.length === 1 ? parts[0] : `[${parts.join(', ')}]`;
  const qualifiedKind = group ? `${kind}.${group}` : kind;
  const d = details(name, group, kind) ?? {};
  d.causes = errs.map((e): V1StatusCause => ({
    reason: e.reason,
    message: e.message,
    field: e.field,
  }));
  return status(422, 'Invalid', `${qualifiedKind} "${name}" is invalid: ${joined}`, d);
}

export function badRequest(message: string): ApiError {
  return status(400, 'BadRequest', message);
}

/** JSON-patch failures: the server hides the cause (fixtures 422-json-patch-*). */
export function jsonPatchRejected(): ApiError {
  return status(
    422,
    'Invalid',
    'the server rejected our request due to an error in our request',
    {},
  );
}

/** A merge patch whose body is not an object (fixture 422-json-patch-body-as-merge-patch). */
export function mergePatchNotObject(body: string): ApiError {
  const cause =
    `Invalid value: ${JSON.stringify(body)}: couldn't get version/kind; json parse error: ` +
    'json: cannot unmarshal array into Go value of type struct { APIVersion string "json:\\"apiVersion,omitempty\\""; ' +
    'Kind string "json:\\"kind,omitempty\\"" }';
  return status(422, 'Invalid', ` "" is invalid: patch: ${cause}`, {
    causes: [{ reason: 'FieldValueInvalid', message: cause, field: 'patch' }],
  });
}

export function unsupportedMediaType(): ApiError {
  return status(415, 'UnsupportedMediaType', '415: Unsupported Media Type', {});
}

export function unauthorized(): ApiError {
  return status(401, 'Unauthorized', 'Unauthorized');
}

/** RBAC's 403: `pvcs "x" is forbidden: User "u" cannot get resource "pvcs" in API group "" in the namespace "ns"`. */
export function forbiddenRequest(
  user: string,
  verb: string,
  group: string,
  resource: string,
  namespace: string | undefined,
  name: string | undefined,
  subresource?: string,
): ApiError {
  const subject = name ? `${qualified(group, resource)} "${name}"` : qualified(group, resource);
  const scope = namespace ? `in the namespace "${namespace}"` : 'at the cluster scope';
  const what = subresource ? `${resource}/${subresource}` : resource;
  const message = `${subject} is forbidden: User "${user}" cannot ${verb} resource "${what}" in API group "${group}" ${scope}`;
  return status(403, 'Forbidden', message, details(name, group, resource));
}

export function forbiddenPath(user: string, path: string): ApiError {
  return status(403, 'Forbidden', `forbidden: User "${user}" cannot get path "${path}"`, {});
}

export function namespaceTerminating(
  namespace: string,
  group: string,
  resource: string,
  name: string,
): ApiError {
  return status(
    403,
    'Forbidden',
    `${qualified(group, resource)} "${name}" is forbidden: unable to create new content in namespace ${namespace} because it is being terminated`,
    details(name, group, resource),
  );
}

export function methodNotAllowed(): ApiError {
  return status(
    405,
    'MethodNotAllowed',
    'the server does not allow this method on the requested resource',
    {},
  );
}

export function watchExpired(requested: number, oldest: number): ApiError {
  return status(410, 'Expired', `too old resource version: ${requested} (${oldest})`);
}

export function listExpired(): ApiError {
  return status(410, 'Expired', 'The resourceVersion for the provided list is too old.');
}

export function internalError(message: string): ApiError {
  return status(500, 'InternalError', `Internal error occurred: ${message}`, {
    causes: [{ message }],
  });
}

export function tooManyRequests(message: string): ApiError {
  return status(429, 'TooManyRequests', message, {});
}

export function continueExpired(newToken: string): ApiError {
  return status(
    410,
    'Expired',
    'The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter, or use the continue token in this response to retrieve the remainder of the results. Continuing with the provided token results in an inconsistent list - objects that were created, modified, or deleted between the time the first chunk was returned and now may show up in the list.',
    undefined,
    { continue: newToken } as unknown as V1Status['metadata'],
  );
}
