// The one grant quiesce hooks need: the replicator may run commands in pods
// (pods/exec) of a namespace where someone enabled a hook. Made per
// namespace by `kubectl scribe enable --quiesce-command`, not in Scribe's
// ClusterRole, so the replicator can exec only where a user who may exec
// there asked for it (creating the RoleBinding needs that right: RBAC
// refuses to grant what the granter does not hold). Pure.
import type { V1Role, V1RoleBinding } from '@kubernetes/client-node';
import { managedBy } from './objects.ts';

export const quiesceRbacName = 'scribe-quiesce';
const replicator = { namespace: 'scribe-system', serviceAccount: 'scribe-replicator' };

const labels = {
  ...managedBy,
  'app.kubernetes.io/name': 'scribe',
  'app.kubernetes.io/component': 'quiesce',
};

export function quiesceRole(namespace: string): V1Role {
  return {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'Role',
    metadata: { name: quiesceRbacName, namespace, labels },
    rules: [
      // A WebSocket exec is an HTTP GET: authorized as get before Kubernetes 1.35, get and create from 1.35.
      { apiGroups: [''], resources: ['pods/exec'], verbs: ['create', 'get'] },
    ],
  };
}

export function quiesceRoleBinding(namespace: string): V1RoleBinding {
  return {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'RoleBinding',
    metadata: { name: quiesceRbacName, namespace, labels },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: quiesceRbacName },
    subjects: [
      { kind: 'ServiceAccount', name: replicator.serviceAccount, namespace: replicator.namespace },
    ],
  };
}
