import type {
  V1PersistentVolumeClaim,
  V1SubjectAccessReview,
  V1SubjectAccessReviewStatus,
} from '@kubernetes/client-node';
import { specKeys, splitTargetKey, statusKeys } from '../../model/src/index.ts';
import type { AdmissionDecision, AdmissionRequest } from './admission-review.ts';

// A quiesce hook makes Scribe's replicator exec a command in the pods that
// mount the claim. Whoever writes one must therefore be allowed to exec there
// themselves, or annotating a claim would be a way around RBAC. This module
// decides what to ask the API server and what to answer; the asking is the
// edge's (access-review.ts). Pure.

/**
 * The annotations that name what runs, and where: the hook, and the quiesce
 * record the replicator leaves while an application is quiesced (a restarted
 * replicator runs the recorded undo command in the recorded pods, per target:
 * `KEY.TARGET`). The timeout alone changes neither.
 */
export const execKeys: readonly string[] = [
  specKeys.quiesceCommand,
  specKeys.unquiesceCommand,
  specKeys.quiesceContainer,
  statusKeys.quiescedAt,
  statusKeys.quiescedPods,
  statusKeys.quiescedUndo,
];

const isExecKey = (k: string) =>
  execKeys.includes(k) || execKeys.includes(splitTargetKey(k)?.base ?? '');

/**
 * The permission asked for. Only `create`: it is what SPDY exec has always
 * needed and what kube-apiserver checks for WebSocket exec from 1.35 on;
 * before that a WebSocket exec is authorized as `get`, which upstream treats
 * as a loophole being closed. Demanding `create` fails closed, and the
 * built-in admin and edit roles grant it.
 */
export const EXEC_VERB = 'create';

export interface ExecQuestion {
  namespace: string;
  claim: string;
  /** The exec-bearing annotations (execKeys) the request adds or changes. */
  annotations: string[];
  user: AdmissionRequest['userInfo'];
}

function annotationsOf(o: unknown): Record<string, string> {
  return (o as V1PersistentVolumeClaim | null)?.metadata?.annotations ?? {};
}

/**
 * What to ask before admitting this request, or undefined when nothing needs
 * asking: not a claim write, or no such annotation added or changed (so the
 * replicator's other status writes, its clearing of a quiesce record and hook
 * removals are never held up).
 */
export function execQuestion(req: AdmissionRequest): ExecQuestion | undefined {
  if (req.kind.kind !== 'PersistentVolumeClaim' || req.kind.group !== '') return undefined;
  if (req.operation !== 'CREATE' && req.operation !== 'UPDATE') return undefined;
  if (!req.object) return undefined;
  const now = annotationsOf(req.object);
  const before = req.operation === 'UPDATE' ? annotationsOf(req.oldObject) : {};
  const annotations = Object.keys(now).filter((k) => isExecKey(k) && now[k] !== before[k]);
  if (annotations.length === 0) return undefined;
  return {
    namespace: req.namespace ?? req.object.metadata?.namespace ?? '',
    claim: req.name ?? req.object.metadata?.name ?? req.object.metadata?.generateName ?? '',
    annotations,
    user: req.userInfo,
  };
}

/** The SubjectAccessReview for the requester, user info copied as the API server sent it. */
export function execAccessReview(q: ExecQuestion): V1SubjectAccessReview {
  const u = q.user;
  return {
    apiVersion: 'authorization.k8s.io/v1',
    kind: 'SubjectAccessReview',
    spec: {
      ...(u.username !== undefined ? { user: u.username } : {}),
      ...(u.uid !== undefined ? { uid: u.uid } : {}),
      ...(u.groups !== undefined ? { groups: u.groups } : {}),
      ...(u.extra !== undefined ? { extra: u.extra } : {}),
      resourceAttributes: {
        namespace: q.namespace,
        verb: EXEC_VERB,
        group: '',
        resource: 'pods',
        subresource: 'exec',
      },
    },
  };
}

const userName = (q: ExecQuestion) => q.user.username ?? 'system:anonymous';
const setting = (q: ExecQuestion) =>
  q.annotations.map((k) => `metadata.annotations[${k}]`).join(', ');

/** The verdict on the API server's answer. */
export function execVerdict(
  q: ExecQuestion,
  status: V1SubjectAccessReviewStatus | undefined,
): AdmissionDecision {
  if (status?.allowed === true && status.denied !== true) return { allowed: true };
  const why = status?.reason ? ` (${status.reason})` : '';
  return {
    allowed: false,
    code: 403,
    message: `persistentvolumeclaims "${q.claim}" is forbidden: User "${userName(q)}" cannot set ${setting(q)}: quiesce hooks make Scribe run commands in this namespace's pods, so setting them needs permission to create resource "pods/exec" in API group "" in the namespace "${q.namespace}"${why}; grant it with a Role (verbs: ["create"], resources: ["pods/exec"]) bound to the user, or ask someone who has it to set the hook`,
  };
}

/** When the API server could not be asked: fail closed, and say so. */
export function execCheckFailed(q: ExecQuestion, err: string): AdmissionDecision {
  return {
    allowed: false,
    code: 500,
    message: `persistentvolumeclaims "${q.claim}": cannot check whether User "${userName(q)}" may create pods/exec in the namespace "${q.namespace}", which setting ${setting(q)} needs: ${err}; nothing was changed, try again`,
  };
}
