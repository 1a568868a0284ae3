// The webhook's answer checked the way kube-apiserver v1.24 checks an
// AdmissionReview v1 response (v1beta1 answers, for webhooks that list it
// first, go unchecked as they did then) (webhook/request/admissionreview.go): a
// response must be present, echo the request uid, be an
// admission.k8s.io/v1 AdmissionReview, and carry patch and patchType
// together, from a mutating webhook only. Any failure is an "invalid webhook
// response", which the caller treats as a failed call (failurePolicy applies).
import type { WebhookResult } from './status.ts';

export class InvalidResponseError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InvalidResponseError';
  }
}

/** The body could not be decoded into an AdmissionReview at all (Go's decoder complaint). */
export class UndecodableResponseError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UndecodableResponseError';
  }
}

export interface VerifiedResponse {
  allowed: boolean;
  patch?: Buffer;
  patchType?: string;
  result?: WebhookResult;
  warnings: string[];
  auditAnnotations?: Record<string, string>;
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => v !== null && typeof v === 'object' && !Array.isArray(v);

/** Go decodes []byte from standard, padded base64 and rejects anything else. */
function decodeBase64(s: string): Buffer {
  const bad = s.search(/[^A-Za-z0-9+/=]/);
  if (bad >= 0 || s.length % 4 !== 0 || /=[^=]/.test(s)) {
    const at = bad >= 0 ? bad : Math.max(0, s.length - (s.length % 4));
    throw new UndecodableResponseError(`illegal base64 data at input byte ${at}`);
  }
  return Buffer.from(s, 'base64');
}

function typeError(field: string, want: string, got: unknown): UndecodableResponseError {
  const kind = got === null ? 'null' : Array.isArray(got) ? 'array' : typeof got;
  return new UndecodableResponseError(
    `json: cannot unmarshal ${kind} into Go struct field AdmissionReview.${field} of type ${want}`,
  );
}

export function verifyAdmissionResponse(
  uid: string,
  mutating: boolean,
  body: unknown,
  version: 'v1' | 'v1beta1' = 'v1',
): VerifiedResponse {
  if (!isObj(body)) throw typeError('', `${version}.AdmissionReview`, body);
  const response = body.response;
  if (response === undefined || response === null) {
    throw new InvalidResponseError('webhook response was absent');
  }
  if (!isObj(response)) throw typeError('response', `${version}.AdmissionResponse`, response);
  if (version === 'v1beta1') return verifyV1beta1(mutating, response);
  const gotUid = typeof response.uid === 'string' ? response.uid : '';
  if (gotUid !== uid) {
    throw new InvalidResponseError(`expected response.uid="${uid}", got "${gotUid}"`);
  }
  const apiVersion = typeof body.apiVersion === 'string' ? body.apiVersion : '';
  const kind = typeof body.kind === 'string' ? body.kind : '';
  if (apiVersion !== 'admission.k8s.io/v1' || kind !== 'AdmissionReview') {
    const slash = apiVersion.indexOf('/');
    const [g, v] =
      slash < 0 ? ['', apiVersion] : [apiVersion.slice(0, slash), apiVersion.slice(slash + 1)];
    throw new InvalidResponseError(
      `expected webhook response of admission.k8s.io/v1, Kind=AdmissionReview, got ${g}/${v}, Kind=${kind}`,
    );
  }
  if (response.allowed !== undefined && typeof response.allowed !== 'boolean') {
    throw typeError('response.allowed', 'bool', response.allowed);
  }
  const patch =
    typeof response.patch === 'string' && response.patch !== ''
      ? decodeBase64(response.patch)
      : undefined;
  const patchType = typeof response.patchType === 'string' ? response.patchType : undefined;
  const hasPatch = patch !== undefined && patch.length > 0;
  const hasPatchType = response.patchType !== undefined && response.patchType !== null;
  if (mutating) {
    if (hasPatch && !hasPatchType) {
      throw new InvalidResponseError('webhook returned response.patch but not response.patchType');
    }
    if (!hasPatch && hasPatchType) {
      throw new InvalidResponseError('webhook returned response.patchType but not response.patch');
    }
    if (hasPatchType && !patchType) {
      throw new InvalidResponseError(
        `webhook returned invalid response.patchType of ${JSON.stringify(patchType ?? '')}`,
      );
    }
  } else {
    if (hasPatch)
      throw new InvalidResponseError('validating webhook may not return response.patch');
    if (hasPatchType) {
      throw new InvalidResponseError('validating webhook may not return response.patchType');
    }
  }
  return result(response, mutating && hasPatch ? patch : undefined, patchType ?? '');
}

/** v1beta1 answers were never checked for uid, kind or patchType; a patch is taken as JSONPatch. */
function verifyV1beta1(mutating: boolean, response: Obj): VerifiedResponse {
  if (response.allowed !== undefined && typeof response.allowed !== 'boolean') {
    throw typeError('response.allowed', 'bool', response.allowed);
  }
  const patch =
    mutating && typeof response.patch === 'string' && response.patch !== ''
      ? decodeBase64(response.patch)
      : undefined;
  return result(response, patch && patch.length > 0 ? patch : undefined, 'JSONPatch');
}

function result(response: Obj, patch: Buffer | undefined, patchType: string): VerifiedResponse {
  const warnings = Array.isArray(response.warnings)
    ? response.warnings.filter((w): w is string => typeof w === 'string')
    : [];
  const out: VerifiedResponse = { allowed: response.allowed === true, warnings };
  if (patch) {
    out.patch = patch;
    out.patchType = patchType;
  }
  if (isObj(response.status)) out.result = response.status as WebhookResult;
  if (isObj(response.auditAnnotations)) {
    out.auditAnnotations = response.auditAnnotations as Record<string, string>;
  }
  return out;
}
