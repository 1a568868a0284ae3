import type {
  V1MutatingWebhookConfiguration,
  V1Secret,
  V1ValidatingWebhookConfiguration,
} from '@kubernetes/client-node';
import type { JsonPatchOperation } from './admission-review.ts';
import { type KubeClient, statusCode } from './kube-client.ts';
import {
  type CertificateAuthority,
  certificateValidity,
  createCertificateAuthority,
} from './tls-authority.ts';

// In-cluster TLS without cert-manager: the replicas share one CA kept in a
// Secret in Scribe's namespace (the first replica makes it), each signs its own
// serving certificate, and the CA goes into both webhook configurations.

const CA_CERT = 'ca.crt';
const CA_KEY = 'ca.key';

function fromSecret(secret: V1Secret, where: string): CertificateAuthority {
  const cert = secret.data?.[CA_CERT];
  const key = secret.data?.[CA_KEY];
  if (!cert || !key) throw new Error(`Secret ${where} has no ${CA_CERT} and ${CA_KEY}`);
  const certPem = Buffer.from(cert, 'base64').toString('utf8');
  return {
    subjectCommonName: 'scribe-webhook-ca',
    certPem,
    keyPem: Buffer.from(key, 'base64').toString('utf8'),
    ...certificateValidity(certPem),
  };
}

export async function loadOrCreateCa(
  kube: KubeClient,
  namespace: string,
  name: string,
  opts: { validityDays?: number } = {},
): Promise<{ ca: CertificateAuthority; created: boolean }> {
  const secrets = `/api/v1/namespaces/${encodeURIComponent(namespace)}/secrets`;
  const read = () => kube.request<V1Secret>('GET', `${secrets}/${encodeURIComponent(name)}`);
  const where = `${namespace}/${name}`;
  try {
    return {
      ca: fromSecret(await read(), where),
      created: false,
    };
  } catch (err) {
    if (statusCode(err) !== 404) throw err;
  }
  const ca = createCertificateAuthority('scribe-webhook-ca', {
    validityDays: opts.validityDays ?? 3650,
  });
  try {
    await kube.request('POST', secrets, {
      body: {
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { name, namespace, labels: { 'app.kubernetes.io/name': 'scribe' } },
        type: 'Opaque',
        data: {
          [CA_CERT]: Buffer.from(ca.certPem).toString('base64'),
          [CA_KEY]: Buffer.from(ca.keyPem).toString('base64'),
        },
      },
    });
    return { ca, created: true };
  } catch (err) {
    // Another replica made it first: use theirs, so both serve under one CA.
    if (statusCode(err) !== 409) throw err;
    return {
      ca: fromSecret(await read(), where),
      created: false,
    };
  }
}

// JSON Patch ops that set every webhook's caBundle, each guarded by a test of
// the webhook's name so a concurrent edit cannot shift it onto another entry.
export function caBundlePatch(
  webhooks: { name: string; clientConfig?: { caBundle?: string } }[],
  caBundle: string,
): JsonPatchOperation[] {
  return webhooks.flatMap((w, i) =>
    w.clientConfig?.caBundle === caBundle
      ? []
      : [
          { op: 'test' as const, path: `/webhooks/${i}/name`, value: w.name },
          { op: 'add' as const, path: `/webhooks/${i}/clientConfig/caBundle`, value: caBundle },
        ],
  );
}

export async function injectCaBundle(
  kube: KubeClient,
  configurationName: string,
  caPem: string,
): Promise<number> {
  const caBundle = Buffer.from(caPem).toString('base64');
  let changed = 0;
  for (const kind of ['mutatingwebhookconfigurations', 'validatingwebhookconfigurations']) {
    const path = `/apis/admissionregistration.k8s.io/v1/${kind}/${encodeURIComponent(configurationName)}`;
    const config = await kube.request<
      V1MutatingWebhookConfiguration | V1ValidatingWebhookConfiguration
    >('GET', path);
    const ops = caBundlePatch(config.webhooks ?? [], caBundle);
    if (ops.length === 0) continue;
    await kube.request('PATCH', path, { body: ops, contentType: 'application/json-patch+json' });
    changed += 1;
  }
  return changed;
}
