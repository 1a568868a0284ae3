// Which webhooks a request reaches, decided as kube-apiserver v1.24 decides
// it (admission/plugin/webhook/{rules,namespace,object}): a rule must match
// operation, group, version, resource/subresource and scope; then the
// namespaceSelector over the namespace's labels; then the objectSelector over
// the object's or the old object's labels. Pure: the namespace labels are
// looked up by the caller and passed in.
//
// Not modelled: matchPolicy Equivalent across API versions (the stand-in
// serves one version per resource, so Equivalent and Exact agree), and
// matchConditions, which v1.24 does not have (the field is ignored).
import type { V1RuleWithOperations, V1Namespace } from '@kubernetes/client-node';
import { isEmptySelector, matchesSelector, type Labels } from './label-selector.ts';
import type { AdmissionAttributes, KubeObject } from './seam.ts';
import type { AnyWebhook } from './webhooks.ts';

/** The label the server puts on every namespace (defaulting, v1.22+). */
export const NAMESPACE_NAME_LABEL = 'kubernetes.io/metadata.name';

export type MatchAttributes = Pick<
  AdmissionAttributes,
  'operation' | 'resource' | 'subResource' | 'namespace' | 'name' | 'object' | 'oldObject'
> & { kind: AdmissionAttributes['kind'] };

function isNamespaceResource(a: MatchAttributes): boolean {
  const r = a.resource;
  return r.group === '' && r.version === 'v1' && r.resource === 'namespaces';
}

/** The server never sends its own webhook configurations through webhooks. */
export function isWebhookConfigurationResource(a: MatchAttributes): boolean {
  return (
    a.kind.group === 'admissionregistration.k8s.io' &&
    (a.kind.kind === 'MutatingWebhookConfiguration' ||
      a.kind.kind === 'ValidatingWebhookConfiguration')
  );
}

function splitResource(s: string): [string, string] {
  const i = s.indexOf('/');
  return i < 0 ? [s, ''] : [s.slice(0, i), s.slice(i + 1)];
}

export function ruleMatches(rule: V1RuleWithOperations, a: MatchAttributes): boolean {
  const ns = a.namespace ?? '';
  switch (rule.scope ?? '*') {
    case 'Namespaced':
      if (isNamespaceResource(a) || ns === '') return false;
      break;
    case 'Cluster':
      if (!(isNamespaceResource(a) || ns === '')) return false;
      break;
  }
  const ops = rule.operations ?? [];
  if (!ops.some((op) => op === '*' || op === a.operation)) return false;
  const anyOf = (list: string[] | undefined, v: string) =>
    (list ?? []).some((x) => x === '*' || x === v);
  if (!anyOf(rule.apiGroups, a.resource.group)) return false;
  if (!anyOf(rule.apiVersions, a.resource.version)) return false;
  const sub = a.subResource ?? '';
  return (rule.resources ?? []).some((r) => {
    const [res, rsub] = splitResource(r);
    return (res === '*' || res === a.resource.resource) && (rsub === '*' || rsub === sub);
  });
}

export function rulesMatch(webhook: AnyWebhook, a: MatchAttributes): boolean {
  return (webhook.rules ?? []).some((r) => ruleMatches(r, a));
}

function labelsOf(o: KubeObject | null | undefined): Labels {
  return (o?.metadata?.labels as Labels | undefined) ?? {};
}

/** The namespace's labels as the server sees them: its own labels plus the name label. */
export function namespaceLabels(ns: V1Namespace): Labels {
  const name = ns.metadata?.name ?? '';
  return { ...(ns.metadata?.labels ?? {}), [NAMESPACE_NAME_LABEL]: name };
}

/**
 * What the namespaceSelector is evaluated against:
 * - `always`: a cluster-scoped object that is not a Namespace is never exempted;
 * - `labels`: a Namespace being created or updated is judged by its own labels;
 * - `lookup`: otherwise the stored namespace (the Namespace itself on DELETE).
 */
export type NamespaceScope =
  { kind: 'always' } | { kind: 'labels'; labels: Labels } | { kind: 'lookup'; name: string };

export function namespaceScope(a: MatchAttributes): NamespaceScope {
  const ns = a.namespace ?? '';
  if (ns === '' && !isNamespaceResource(a)) return { kind: 'always' };
  if (
    isNamespaceResource(a) &&
    (a.subResource ?? '') === '' &&
    (a.operation === 'CREATE' || a.operation === 'UPDATE')
  ) {
    const name = a.object?.metadata?.name ?? a.name ?? '';
    return { kind: 'labels', labels: { ...labelsOf(a.object), [NAMESPACE_NAME_LABEL]: name } };
  }
  return { kind: 'lookup', name: ns !== '' ? ns : (a.name ?? '') };
}

/** Whether the namespaceSelector needs the stored namespace looked up at all. */
export function needsNamespaceLookup(webhook: AnyWebhook, a: MatchAttributes): string | undefined {
  if (isEmptySelector(webhook.namespaceSelector)) return undefined;
  const scope = namespaceScope(a);
  return scope.kind === 'lookup' ? scope.name : undefined;
}

/** `stored` is the looked-up namespace's labels when needsNamespaceLookup asked for them. */
export function namespaceSelectorMatches(
  webhook: AnyWebhook,
  a: MatchAttributes,
  stored?: Labels,
): boolean {
  const scope = namespaceScope(a);
  if (scope.kind === 'always') return true;
  if (isEmptySelector(webhook.namespaceSelector)) return true;
  const labels = scope.kind === 'labels' ? scope.labels : (stored ?? {});
  return matchesSelector(webhook.namespaceSelector, labels);
}

export function objectSelectorMatches(webhook: AnyWebhook, a: MatchAttributes): boolean {
  const s = webhook.objectSelector;
  if (isEmptySelector(s)) return true;
  const matchOne = (o: KubeObject | null) => o !== null && matchesSelector(s, labelsOf(o));
  return matchOne(a.object) || matchOne(a.oldObject);
}
