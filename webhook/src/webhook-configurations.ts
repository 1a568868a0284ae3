import type {
  V1MatchCondition,
  V1MutatingWebhookConfiguration,
  V1ValidatingWebhookConfiguration,
} from '@kubernetes/client-node';
import { WEBHOOK_PATHS } from './http-edge.ts';
import type { ServerCapabilities } from './server-capabilities.ts';

// The two webhook configurations, as pure builders: `kubectl scribe install`
// and manifests/ both come from here, per server version.

export const CONFIGURATION_NAME = 'scribe-webhook';
export const MUTATING_WEBHOOK = 'live-sidecar.scribe.backube.io';
export const VALIDATING_WEBHOOK = 'replication-spec.scribe.backube.io';
const NAMESPACE_NAME_LABEL = 'kubernetes.io/metadata.name';
const MIRROR_ANNOTATION = 'kubernetes.io/config.mirror';

export interface ConfigurationOptions {
  capabilities: ServerCapabilities;
  // Scribe's own namespace, where the Service is.
  namespace: string;
  service: string;
  port?: number;
  // Instead of the Service: the webhook's base URL (development, the stand-in),
  // e.g. https://127.0.0.1:8443; the paths are appended.
  url?: string;
  // Base64 PEM; absent when cert-manager's CA injector fills it in.
  caBundle?: string;
  // cert-manager's CA injector: "NAMESPACE/CERTIFICATE".
  certManagerCertificate?: string;
  // Annotation prefixes that mark a claim as Scribe's (the model's).
  annotationPrefixes: string[];
  timeoutSeconds?: number;
}

// Never in the way of the control plane or of the webhook's own pods.
export function excludedNamespaces(namespace: string): string[] {
  return [...new Set(['kube-system', namespace])];
}

function celString(s: string): string {
  return `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

export function podMatchConditions(): V1MatchCondition[] {
  return [
    {
      name: 'has-claim-volume',
      expression:
        'has(object.spec.volumes) && object.spec.volumes.exists(v, has(v.persistentVolumeClaim))',
    },
    {
      name: 'not-mirror-pod',
      expression: `!has(object.metadata.annotations) || !(${celString(MIRROR_ANNOTATION)} in object.metadata.annotations)`,
    },
  ];
}

export function claimMatchConditions(prefixes: string[]): V1MatchCondition[] {
  const marked = (o: string) =>
    `(has(${o}.metadata.annotations) && ${o}.metadata.annotations.exists(k, ${prefixes
      .map((p) => `k.startsWith(${celString(p)})`)
      .join(' || ')}))`;
  // oldObject too: an UPDATE that removes the spec is Scribe's to see.
  return [
    {
      name: 'scribe-annotated',
      expression: `${marked('object')} || (oldObject != null && ${marked('oldObject')})`,
    },
  ];
}

function common(opts: ConfigurationOptions, path: string) {
  const metadataAnnotations = opts.certManagerCertificate
    ? { 'cert-manager.io/inject-ca-from': opts.certManagerCertificate }
    : undefined;
  return {
    metadataAnnotations,
    clientConfig: {
      ...(opts.url
        ? { url: `${opts.url.replace(/\/+$/, '')}${path}` }
        : {
            service: {
              namespace: opts.namespace,
              name: opts.service,
              path,
              port: opts.port ?? 443,
            },
          }),
      ...(opts.caBundle ? { caBundle: opts.caBundle } : {}),
    },
    namespaceSelector: {
      matchExpressions: [
        {
          key: NAMESPACE_NAME_LABEL,
          operator: 'NotIn',
          values: excludedNamespaces(opts.namespace),
        },
      ],
    },
    admissionReviewVersions: ['v1'],
    matchPolicy: 'Equivalent',
    // Reading a cache and asking a SubjectAccessReview have no effect anywhere,
    // so dry runs are safe to send.
    sideEffects: 'None',
    timeoutSeconds: opts.timeoutSeconds ?? 3,
  };
}

export function mutatingWebhookConfiguration(
  opts: ConfigurationOptions,
): V1MutatingWebhookConfiguration {
  const c = common(opts, WEBHOOK_PATHS.mutatePods);
  return {
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'MutatingWebhookConfiguration',
    metadata: {
      name: CONFIGURATION_NAME,
      labels: { 'app.kubernetes.io/name': 'scribe', 'app.kubernetes.io/component': 'webhook' },
      ...(c.metadataAnnotations ? { annotations: c.metadataAnnotations } : {}),
    },
    webhooks: [
      {
        name: MUTATING_WEBHOOK,
        clientConfig: c.clientConfig,
        rules: [
          {
            apiGroups: [''],
            apiVersions: ['v1'],
            operations: ['CREATE'],
            resources: ['pods'],
            scope: 'Namespaced',
          },
        ],
        namespaceSelector: c.namespaceSelector,
        ...(opts.capabilities.matchConditions ? { matchConditions: podMatchConditions() } : {}),
        admissionReviewVersions: c.admissionReviewVersions,
        matchPolicy: c.matchPolicy,
        sideEffects: c.sideEffects,
        timeoutSeconds: c.timeoutSeconds,
        // A webhook that is down must not stop pods from starting: the pod
        // runs without its live copy, and the metrics and logs say so.
        failurePolicy: 'Ignore',
        // Another webhook may add a claim volume after us.
        reinvocationPolicy: 'IfNeeded',
      },
    ],
  };
}

export function validatingWebhookConfiguration(
  opts: ConfigurationOptions,
): V1ValidatingWebhookConfiguration {
  const c = common(opts, WEBHOOK_PATHS.validatePersistentVolumeClaims);
  return {
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'ValidatingWebhookConfiguration',
    metadata: {
      name: CONFIGURATION_NAME,
      labels: { 'app.kubernetes.io/name': 'scribe', 'app.kubernetes.io/component': 'webhook' },
      ...(c.metadataAnnotations ? { annotations: c.metadataAnnotations } : {}),
    },
    webhooks: [
      {
        name: VALIDATING_WEBHOOK,
        clientConfig: c.clientConfig,
        rules: [
          {
            apiGroups: [''],
            apiVersions: ['v1'],
            operations: ['CREATE', 'UPDATE'],
            resources: ['persistentvolumeclaims'],
            scope: 'Namespaced',
          },
        ],
        namespaceSelector: c.namespaceSelector,
        ...(opts.capabilities.matchConditions
          ? { matchConditions: claimMatchConditions(opts.annotationPrefixes) }
          : {}),
        admissionReviewVersions: c.admissionReviewVersions,
        matchPolicy: c.matchPolicy,
        sideEffects: c.sideEffects,
        timeoutSeconds: c.timeoutSeconds,
        // With matchConditions only Scribe's claims reach the webhook, so a
        // bad spec never lands unchecked and nothing else is held up. Without
        // them every claim write would wait on the webhook: failing closed
        // there would turn an outage of the webhook into one of all storage.
        failurePolicy: opts.capabilities.matchConditions ? 'Fail' : 'Ignore',
      },
    ],
  };
}
