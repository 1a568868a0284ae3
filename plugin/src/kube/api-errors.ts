// Kubernetes API failures turned into messages in kubectl's tone: what is
// wrong, where (context, namespace), and what to do. Pure.
import { CliError } from '../errors.ts';

/** What a request was doing, for the message. */
export interface RequestIntent {
  /** RBAC verb: get, list, create, patch, delete, watch. */
  verb: string;
  /** Plural resource, with its group when not core: "deployments.apps". */
  resource: string;
  name?: string | undefined;
  namespace?: string | undefined;
  /** The kubeconfig context, as the user names the cluster. */
  context: string;
}

/** The parts of a metav1.Status Scribe reads. */
export interface ApiStatus {
  kind?: string;
  status?: string;
  message?: string;
  reason?: string;
  code?: number;
  details?: { name?: string; kind?: string; causes?: { message?: string }[] };
}

/** An API answer other than 2xx, with the Status the server sent (if any). */
export class ApiError extends CliError {
  readonly code: number;
  readonly status: ApiStatus | undefined;
  readonly reason: string;
  constructor(message: string, code: number, status: ApiStatus | undefined) {
    super(message);
    this.name = 'ApiError';
    this.code = code;
    this.status = status;
    this.reason = status?.reason ?? '';
  }
}

export function isNotFound(e: unknown): boolean {
  return e instanceof ApiError && e.code === 404;
}

/** Deleting what is already gone is done, not a failure: false when it was gone. */
export async function gone(p: Promise<unknown>): Promise<boolean> {
  try {
    await p;
    return true;
  } catch (e) {
    if (isNotFound(e)) return false;
    throw e;
  }
}

export function isAlreadyExists(e: unknown): boolean {
  return e instanceof ApiError && e.code === 409 && e.reason === 'AlreadyExists';
}

export function isConflict(e: unknown): boolean {
  return e instanceof ApiError && e.code === 409 && e.reason === 'Conflict';
}

const shortNames: Record<string, string> = {
  persistentvolumeclaims: 'pvc',
  'deployments.apps': 'deployment',
  services: 'service',
  secrets: 'secret',
  'storageclasses.storage.k8s.io': 'storageclass',
};

function where(i: RequestIntent): string {
  return i.namespace
    ? `in namespace "${i.namespace}" (context "${i.context}")`
    : `in context "${i.context}"`;
}

function kubectlFlags(i: RequestIntent): string {
  return `${i.namespace ? ` -n ${i.namespace}` : ''} --context ${i.context}`;
}

/** Parses a response body as a Status when it is one. */
export function parseStatus(body: string): ApiStatus | undefined {
  try {
    const o = JSON.parse(body) as ApiStatus;
    return o && typeof o === 'object' && o.kind === 'Status' ? o : undefined;
  } catch {
    return undefined;
  }
}

/** The error for an HTTP status and body, in the words kubectl would use. */
export function apiError(code: number, body: string, i: RequestIntent): ApiError {
  const st = parseStatus(body);
  const serverMessage = st?.message ?? body.trim();
  const shortName = shortNames[i.resource] ?? i.resource;
  let message: string;
  switch (true) {
    case code === 401:
      message =
        `You must be logged in to the server (Unauthorized): context "${i.context}" rejected the credentials; ` +
        `check them with kubectl auth whoami --context ${i.context}`;
      break;
    case code === 403 && serverMessage.startsWith('admission webhook'):
      message = `${serverMessage} (context "${i.context}")`;
      break;
    case code === 403:
      message =
        `${serverMessage || `forbidden`}; ` +
        `you need permission to ${i.verb} ${i.resource} ${where(i)}: ` +
        `check with kubectl auth can-i ${i.verb} ${i.resource}${kubectlFlags(i)}`;
      break;
    case code === 404 && !st:
      // No Status: the API group itself is not served (a CRD not installed).
      message = `the server in context "${i.context}" does not serve ${i.resource}: is its CRD installed?`;
      break;
    case code === 404:
      message =
        `${i.resource.split('.')[0]} "${i.name ?? ''}" not found ${where(i)}: ` +
        `check the name with kubectl get ${shortName}${kubectlFlags(i)}`;
      break;
    case code === 409 && st?.reason === 'Conflict':
      message = `${serverMessage}: someone changed it meanwhile; run the command again`;
      break;
    case code === 500 && /failed calling webhook/.test(serverMessage):
      message =
        `${serverMessage} (context "${i.context}"): an admission webhook of that cluster is down; ` +
        'check its pods, or ask the cluster admin';
      break;
    default:
      message = `${serverMessage || `HTTP ${code}`} (${i.verb} ${i.resource}${i.name ? ` "${i.name}"` : ''} ${where(i)})`;
  }
  return new ApiError(message, code, st);
}

/** A connection that failed before any HTTP answer, in kubectl's words. */
export function connectionError(err: unknown, server: string, context: string): CliError {
  const e = err as NodeJS.ErrnoException;
  const code = e?.code ?? '';
  if (code === 'ECONNREFUSED') {
    return new CliError(
      `the connection to the server ${new URL(server).host} was refused - did you specify the right host or port? (context "${context}")`,
      { cause: err },
    );
  }
  if (e?.name === 'TimeoutError' || code === 'ETIMEDOUT' || code === 'ABORT_ERR') {
    return new CliError(
      `the server ${server} did not answer in time (context "${context}"); raise --request-timeout or check the network`,
      { cause: err },
    );
  }
  if (/certificate|self[- ]signed|CERT_/i.test(`${code} ${e?.message ?? ''}`)) {
    return new CliError(
      `cannot verify the server certificate of ${server} (context "${context}"): ${e?.message ?? code}`,
      { cause: err },
    );
  }
  return new CliError(
    `cannot reach ${server} (context "${context}"): ${e?.message ?? String(err)}`,
    {
      cause: err,
    },
  );
}
