// The seam between the stand-in API server and its admission chain, as fixed in
// docs/architecture.md. The server calls the chain on every create, update
// (every patch arrives as UPDATE) and delete, after defaulting and before
// persisting; the chain lives in test/standin/admission/.
import type { KubernetesObject, V1Status } from '@kubernetes/client-node';

/** Any Kubernetes object as it travels through the server (JSON shape). */
export type KubeObject = KubernetesObject & Record<string, unknown>;

export interface AdmissionAttributes {
  operation: 'CREATE' | 'UPDATE' | 'DELETE';
  kind: { group: string; version: string; kind: string };
  resource: { group: string; version: string; resource: string };
  subResource?: string;
  /** Absent for a generateName create in the mutating phase. */
  name?: string;
  namespace?: string;
  object: KubeObject | null;
  oldObject: KubeObject | null;
  dryRun: boolean;
  /** CreateOptions | UpdateOptions | DeleteOptions, as the real server sends them. */
  options: object;
  userInfo: { username: string; uid?: string; groups: string[] };
}

export interface AdmissionChain {
  /** Mutating webhooks in order; returns the (possibly patched) object and warnings. */
  mutate(a: AdmissionAttributes): Promise<{ object: KubeObject | null; warnings: string[] }>;
  /** Validating webhooks; resolves with warnings or throws an ApiError carrying a Status. */
  validate(a: AdmissionAttributes): Promise<{ warnings: string[] }>;
}

/**
 * An error the server answers with as-is: `status.code` becomes the HTTP
 * status and `status` the body (a v1 Status, kind Status, status Failure).
 */
export class ApiError extends Error {
  readonly status: V1Status;
  constructor(status: V1Status) {
    super(status.message ?? `request failed with code ${status.code ?? 500}`);
    this.name = 'ApiError';
    this.status = status;
  }
  get code(): number {
    return this.status.code ?? 500;
  }
}

/** The default chain: admits everything unchanged. */
export const noAdmission: AdmissionChain = {
  mutate: (a) => Promise.resolve({ object: a.object, warnings: [] }),
  validate: () => Promise.resolve({ warnings: [] }),
};
