// kubectl scribe doctor's verdicts (pure): each check reads facts gathered
// from the cluster and says OK, WARN or FAIL, and for anything else than OK
// what to run or change.
import { X509Certificate } from 'node:crypto';
import type {
  V1Deployment,
  V1Lease,
  V1MutatingWebhookConfiguration,
  V1StorageClass,
  V1ValidatingWebhookConfiguration,
} from '@kubernetes/client-node';
import type { VolumeSnapshotClass } from '../kube/cluster.ts';
import { capabilitiesOf } from '../plan/capabilities.ts';
import type { ProbeResult } from '../install/readiness.ts';
import type { Build, ServerVersion } from '../install/build.ts';

export type Verdict = 'OK' | 'WARN' | 'FAIL';

export interface Check {
  name: string;
  status: Verdict;
  message: string;
  fix?: string;
}

const ok = (name: string, message: string): Check => ({ name, status: 'OK', message });
const bad = (name: string, status: 'WARN' | 'FAIL', message: string, fix: string): Check => ({
  name,
  status,
  message,
  fix,
});

export function versionCheck(v: ServerVersion, build: Build | Error): Check {
  if (build instanceof Error) {
    return bad('kubernetes', 'FAIL', build.message, 'upgrade the cluster to a supported version');
  }
  return ok('kubernetes', `${v.gitVersion}: supported; install applies the ${build.why}`);
}

export function deploymentCheck(
  namespace: string,
  name: string,
  d: V1Deployment | undefined,
): Check {
  const check = `deployment/${name}`;
  if (!d) {
    return bad(check, 'FAIL', `not found in namespace ${namespace}`, 'kubectl scribe install');
  }
  const want = d.spec?.replicas ?? 1;
  const available = d.status?.availableReplicas ?? 0;
  if (want === 0) {
    return bad(
      check,
      'FAIL',
      'scaled to 0 replicas',
      `kubectl -n ${namespace} scale deployment/${name} --replicas=2 (or kubectl scribe install)`,
    );
  }
  if (available < want) {
    return bad(
      check,
      available === 0 ? 'FAIL' : 'WARN',
      `${available}/${want} replicas available`,
      `kubectl -n ${namespace} describe pods -l ${Object.entries(
        d.spec?.selector?.matchLabels ?? {},
      )
        .map(([k, v]) => `${k}=${v}`)
        .join(',')}`,
    );
  }
  return ok(check, `${available}/${want} replicas available`);
}

/**
 * The replicator drives syncs only while one replica holds its Lease and
 * renews it; running pods that never take it (no rights, no API) do nothing.
 */
export function leaseCheck(namespace: string, lease: V1Lease | undefined, now: Date): Check {
  const name = 'replicator-lease';
  const logs = `kubectl -n ${namespace} logs deployment/scribe-replicator`;
  const holder = lease?.spec?.holderIdentity;
  const renewed = lease?.spec?.renewTime ? new Date(lease.spec.renewTime) : undefined;
  if (!lease || !holder || !renewed) {
    return bad(
      name,
      'FAIL',
      `no replicator holds lease ${namespace}/scribe-replicator: nothing drives syncs`,
      logs,
    );
  }
  const duration = lease.spec?.leaseDurationSeconds ?? 15;
  const age = Math.max(0, Math.round((now.getTime() - renewed.getTime()) / 1000));
  if (age > 3 * duration) {
    return bad(
      name,
      'FAIL',
      `held by ${holder}, last renewed ${age}s ago (lease ${duration}s): the leader is stuck and no standby took over`,
      logs,
    );
  }
  return ok(name, `held by ${holder}, renewed ${age}s ago`);
}

/** The certificates of a PEM bundle (base64 of PEM, as caBundle holds it). */
export function bundleCertificates(caBundle: string | undefined): X509Certificate[] {
  if (!caBundle) return [];
  const pem = Buffer.from(caBundle, 'base64').toString('utf8');
  const blocks = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  return blocks.flatMap((b) => {
    try {
      return [new X509Certificate(b)];
    } catch {
      return [];
    }
  });
}

type Configuration = V1ValidatingWebhookConfiguration | V1MutatingWebhookConfiguration;

export interface WebhookFacts {
  namespace: string;
  validating: V1ValidatingWebhookConfiguration | undefined;
  mutating: V1MutatingWebhookConfiguration | undefined;
  /** base64 PEM of the webhook's own CA (its Secret), undefined when absent or unreadable. */
  caSecretCert: string | undefined;
  caSecretName: string;
  now: Date;
  /** Under this much validity left, the CA is near expiry (WARN). */
  warnWithinDays?: number;
}

/** Both configurations registered, a caBundle on every webhook, one CA, valid, and the webhook's own. */
export function webhookTlsChecks(f: WebhookFacts): Check[] {
  const configs: [string, Configuration | undefined][] = [
    ['validatingwebhookconfiguration/scribe-webhook', f.validating],
    ['mutatingwebhookconfiguration/scribe-webhook', f.mutating],
  ];
  const missing = configs.filter(([, c]) => !c).map(([n]) => n);
  if (missing.length) {
    return [
      bad(
        'webhook-configurations',
        'FAIL',
        `${missing.join(', ')} not found`,
        'kubectl scribe install',
      ),
    ];
  }
  const out: Check[] = [ok('webhook-configurations', 'validating and mutating registered')];
  const bundles = configs.flatMap(([, c]) =>
    (c?.webhooks ?? []).map((w) => w.clientConfig?.caBundle),
  );
  const restart = `kubectl -n ${f.namespace} rollout restart deployment/scribe-webhook (it writes caBundle at start)`;
  if (bundles.some((b) => !b)) {
    out.push(
      bad(
        'ca-bundle',
        'FAIL',
        'a webhook has no caBundle: the API server cannot trust it',
        restart,
      ),
    );
    return out;
  }
  if (new Set(bundles).size > 1) {
    out.push(bad('ca-bundle', 'FAIL', 'the webhooks carry different caBundles', restart));
    return out;
  }
  const certs = bundleCertificates(bundles[0]);
  const ca = certs[0];
  if (!ca) {
    out.push(bad('ca-bundle', 'FAIL', 'caBundle holds no readable certificate', restart));
    return out;
  }
  if (f.caSecretCert !== undefined) {
    const own = bundleCertificates(f.caSecretCert)[0];
    if (!own || !certs.some((c) => c.fingerprint256 === own.fingerprint256)) {
      out.push(
        bad(
          'ca-bundle',
          'FAIL',
          `caBundle does not hold the CA of secret ${f.namespace}/${f.caSecretName}: the API server would refuse the webhook's certificate`,
          restart,
        ),
      );
      return out;
    }
    out.push(ok('ca-bundle', `matches the CA in secret ${f.namespace}/${f.caSecretName}`));
  } else {
    out.push(ok('ca-bundle', 'set on every webhook (issued elsewhere, e.g. by cert-manager)'));
  }
  const notAfter = new Date(ca.validTo);
  const notBefore = new Date(ca.validFrom);
  const daysLeft = Math.floor((notAfter.getTime() - f.now.getTime()) / 86_400_000);
  const renew = f.caSecretCert
    ? `kubectl -n ${f.namespace} delete secret ${f.caSecretName} && ${restart.replace(/ \(.*/, '')} (a new CA is made)`
    : 'renew the CA with the issuer that made it';
  if (f.now < notBefore) {
    out.push(
      bad(
        'webhook-ca',
        'FAIL',
        `not valid before ${notBefore.toISOString()} (check the clocks)`,
        renew,
      ),
    );
  } else if (daysLeft < 0) {
    out.push(bad('webhook-ca', 'FAIL', `expired on ${notAfter.toISOString()}`, renew));
  } else if (daysLeft < (f.warnWithinDays ?? 30)) {
    out.push(
      bad('webhook-ca', 'WARN', `expires in ${daysLeft} days (${notAfter.toISOString()})`, renew),
    );
  } else {
    out.push(
      ok('webhook-ca', `valid until ${notAfter.toISOString().slice(0, 10)} (${daysLeft} days)`),
    );
  }
  return out;
}

export function admissionCheck(p: ProbeResult, namespace: string, installed: boolean): Check {
  if (p.state === 'answering') return ok('admission', p.detail);
  return bad(
    'admission',
    p.state === 'unknown' ? 'WARN' : 'FAIL',
    p.detail,
    p.state === 'unknown'
      ? 'run doctor as a user who may create PVCs in namespace default'
      : !installed
        ? 'kubectl scribe install'
        : `kubectl -n ${namespace} get pods,endpoints -l app.kubernetes.io/component=webhook; kubectl -n ${namespace} logs deployment/scribe-webhook`,
  );
}

export interface StorageFacts {
  snapshotApi: boolean;
  snapshotClasses: readonly VolumeSnapshotClass[];
  storageClasses: readonly V1StorageClass[];
  /** Names of CSIDriver objects; undefined when the API does not list them. */
  csiDrivers: readonly string[] | undefined;
}

export function storageChecks(f: StorageFacts): Check[] {
  const out: Check[] = [];
  const snapFix =
    'install the snapshot CRDs and controller (github.com/kubernetes-csi/external-snapshotter) and a VolumeSnapshotClass for your CSI driver';
  if (!f.snapshotApi) {
    // The replicator keeps every destination's history as VolumeSnapshots:
    // without the API no claim in this cluster can receive.
    out.push(
      bad(
        'snapshot-api',
        'FAIL',
        'snapshot.storage.k8s.io/v1 is not served: this cluster cannot be a destination (the replicator snapshots every complete sync) and method snapshot is unavailable',
        snapFix,
      ),
    );
  } else {
    out.push(ok('snapshot-api', 'snapshot.storage.k8s.io/v1 served'));
    out.push(
      f.snapshotClasses.length
        ? ok(
            'volumesnapshotclasses',
            f.snapshotClasses.map((c) => `${c.metadata.name} (${c.driver})`).join(', '),
          )
        : bad(
            'volumesnapshotclasses',
            'WARN',
            "none: method snapshot is unavailable, and destinations' snapshots wait for a class",
            snapFix,
          ),
    );
  }
  if (f.storageClasses.length === 0) {
    out.push(
      bad(
        'storageclasses',
        'WARN',
        'none: claims need a StorageClass to be provisioned',
        'create a StorageClass for your storage',
      ),
    );
  }
  for (const sc of f.storageClasses) {
    const caps = capabilitiesOf(sc, f.snapshotApi ? f.snapshotClasses : []);
    const registered = f.csiDrivers === undefined || f.csiDrivers.includes(sc.provisioner);
    const clone = caps.clone && registered;
    const methods = [clone && 'clone', caps.snapshot && 'snapshot', 'live']
      .filter(Boolean)
      .join(', ');
    const why = registered ? caps.why : `${caps.why}; no CSIDriver object names ${sc.provisioner}`;
    out.push(
      clone || caps.snapshot
        ? ok(`storageclass/${sc.metadata?.name}`, `methods: ${methods} (${why})`)
        : bad(
            `storageclass/${sc.metadata?.name}`,
            'WARN',
            `methods: live only (${why})`,
            'use a CSI driver that can clone, or add a VolumeSnapshotClass for it',
          ),
    );
  }
  return out;
}

export interface Permission {
  verb: string;
  resource: string;
  group?: string;
  namespace?: string;
}

/** What kubectl scribe's everyday commands (enable, status, sync, disable) do in a namespace. */
export function pluginPermissions(namespace: string): Permission[] {
  const nsd = (verbs: string[], resource: string, group = '') =>
    verbs.map((verb) => ({ verb, resource, group, namespace }));
  return [
    ...nsd(['get', 'list', 'create', 'patch', 'delete'], 'persistentvolumeclaims'),
    ...nsd(['get', 'create', 'delete'], 'secrets'),
    ...nsd(['get', 'create', 'delete'], 'services'),
    ...nsd(['get', 'create', 'delete'], 'deployments', 'apps'),
    { verb: 'list', resource: 'storageclasses', group: 'storage.k8s.io' },
    { verb: 'list', resource: 'volumesnapshotclasses', group: 'snapshot.storage.k8s.io' },
    {
      verb: 'list',
      resource: 'validatingwebhookconfigurations',
      group: 'admissionregistration.k8s.io',
    },
  ];
}

export function rbacCheck(
  namespace: string,
  context: string,
  answers: readonly { p: Permission; allowed: boolean }[] | Error,
): Check {
  if (answers instanceof Error) {
    return bad(
      'rbac',
      'WARN',
      `cannot check: ${answers.message}`,
      `kubectl auth can-i --list -n ${namespace} --context ${context}`,
    );
  }
  const denied = answers.filter((a) => !a.allowed).map((a) => a.p);
  if (denied.length === 0) {
    return ok(
      'rbac',
      `you may do all kubectl scribe needs in namespace ${namespace} (${answers.length} checks)`,
    );
  }
  const words = denied.map((p) => `${p.verb} ${p.resource}${p.group ? `.${p.group}` : ''}`);
  return bad(
    'rbac',
    'FAIL',
    `you may not ${words.join(', ')}${denied.some((p) => p.namespace) ? ` in namespace ${namespace}` : ''}`,
    `ask the cluster admin for these rights; see kubectl auth can-i --list -n ${namespace} --context ${context}`,
  );
}
