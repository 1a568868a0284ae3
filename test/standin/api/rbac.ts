// RBAC evaluation for SubjectAccessReviews: whether the stored Roles,
// ClusterRoles and their bindings grant a user a request. The stand-in does
// not enforce RBAC on its own requests (only its two tokens exist); this lets
// a webhook ask about any user, as kube-apiserver's RBAC authorizer answers.
// Aggregated ClusterRoles and non-resource URLs are not evaluated.
import type {
  V1ClusterRoleBinding,
  V1PolicyRule,
  V1Role,
  V1RoleBinding,
  RbacV1Subject as V1Subject,
} from '@kubernetes/client-node';
import type { Store } from './store.ts';

export interface RbacRequest {
  user: string;
  groups: string[];
  namespace?: string;
  verb: string;
  group: string;
  resource: string;
  subresource?: string;
  name?: string;
}

const has = (list: string[] | undefined, v: string) =>
  (list ?? []).includes('*') || (list ?? []).includes(v);

function subjectMatches(s: V1Subject, r: RbacRequest, bindingNamespace?: string): boolean {
  if (s.kind === 'User') return s.name === r.user;
  if (s.kind === 'Group') return r.groups.includes(s.name);
  if (s.kind === 'ServiceAccount')
    return r.user === `system:serviceaccount:${s.namespace ?? bindingNamespace}:${s.name}`;
  return false;
}

export function ruleAllows(rule: V1PolicyRule, r: RbacRequest): boolean {
  const resource = r.subresource ? `${r.resource}/${r.subresource}` : r.resource;
  return (
    has(rule.verbs, r.verb) &&
    has(rule.apiGroups, r.group) &&
    has(rule.resources, resource) &&
    (!rule.resourceNames?.length || (r.name !== undefined && rule.resourceNames.includes(r.name)))
  );
}

export function rbacAllows(store: Store, r: RbacRequest): boolean {
  const rulesOf = (kind: string, name: string, namespace?: string): V1PolicyRule[] => {
    const role =
      kind === 'ClusterRole'
        ? store.get('rbac.authorization.k8s.io/clusterroles', undefined, name)
        : store.get('rbac.authorization.k8s.io/roles', namespace, name);
    return (role as V1Role | undefined)?.rules ?? [];
  };
  const cluster = store.list(
    'rbac.authorization.k8s.io/clusterrolebindings',
  ) as unknown as V1ClusterRoleBinding[];
  for (const b of cluster) {
    if (!(b.subjects ?? []).some((s) => subjectMatches(s, r))) continue;
    if (rulesOf(b.roleRef.kind, b.roleRef.name).some((rule) => ruleAllows(rule, r))) return true;
  }
  if (!r.namespace) return false;
  const local = store.list(
    'rbac.authorization.k8s.io/rolebindings',
    r.namespace,
  ) as unknown as V1RoleBinding[];
  for (const b of local) {
    if (!(b.subjects ?? []).some((s) => subjectMatches(s, r, r.namespace))) continue;
    if (rulesOf(b.roleRef.kind, b.roleRef.name, r.namespace).some((rule) => ruleAllows(rule, r)))
      return true;
  }
  return false;
}
