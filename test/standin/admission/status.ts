// The Status bodies kube-apiserver answers with when admission fails, built
// field by field in the order its JSON encoder writes them (kind, apiVersion,
// metadata, status, message, reason, details, code), so that a body the
// stand-in serialises equals the captured rawBody byte for byte.
import type { V1Status, V1StatusDetails } from '@kubernetes/client-node';
import { ApiError } from './seam.ts';

/** An ApiError that also carries the warnings gathered before the failure. */
export class AdmissionError extends ApiError {
  readonly warnings: string[];
  constructor(status: V1Status, warnings: string[] = []) {
    super(status);
    this.name = 'AdmissionError';
    this.warnings = warnings;
  }
}

interface StatusFields {
  metadata?: V1Status['metadata'];
  message: string;
  reason?: string;
  details?: V1StatusDetails;
  code: number;
}

function status(f: StatusFields): V1Status {
  const s: V1Status = { kind: 'Status', apiVersion: 'v1', metadata: f.metadata ?? {} };
  s.status = 'Failure';
  s.message = f.message;
  if (f.reason) s.reason = f.reason;
  if (f.details) s.details = f.details;
  s.code = f.code;
  return s;
}

/** apierrors.NewInternalError: 500, the cause repeated in details. */
export function internalError(cause: string): V1Status {
  return status({
    message: `Internal error occurred: ${cause}`,
    reason: 'InternalError',
    details: { causes: [{ message: cause }] },
    code: 500,
  });
}

/** apierrors.NewBadRequest. */
export function badRequest(message: string): V1Status {
  return status({ message, reason: 'BadRequest', code: 400 });
}

/** apierrors.NewNotFound for a core resource (group ""). */
export function notFound(resource: string, name: string): V1Status {
  return status({
    message: `${resource} "${name}" not found`,
    reason: 'NotFound',
    details: { name, kind: resource },
    code: 404,
  });
}

/** The webhook's own `status` when it denies, as webhookerrors.ToStatusErr rewrites it. */
export interface WebhookResult {
  metadata?: V1Status['metadata'];
  status?: string;
  message?: string;
  reason?: string;
  details?: V1StatusDetails;
  code?: number;
}

/**
 * A denial keeps the webhook's code (at least 400) and reason; the message
 * names the webhook. A webhook that says nothing still gets a message.
 */
export function denial(webhookName: string, result: WebhookResult | undefined): V1Status {
  const deniedBy = `admission webhook "${webhookName}" denied the request`;
  const r = result ?? {};
  let message: string;
  if (r.message) message = `${deniedBy}: ${r.message}`;
  else if (r.reason) message = `${deniedBy}: ${r.reason}`;
  else message = `${deniedBy} without explanation`;
  const code = typeof r.code === 'number' && r.code >= 400 ? r.code : 400;
  const s = status({ metadata: r.metadata, message, reason: r.reason, details: r.details, code });
  // Only "" and "Success" are replaced; any other status string is kept.
  if (r.status && r.status !== 'Success') s.status = r.status;
  return s;
}
