import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';

// How the webhook reaches the API server: in a pod through its ServiceAccount,
// outside one through a kubeconfig's current context. This replaces
// @kubernetes/client-node's KubeConfig, whose import alone costs the webhook
// about 80 MiB of resident memory (its generated API and models load as one).

export interface KubeAccess {
  /** https://host:port (http:// only for tests). */
  server: string;
  /** PEM bundle that signs the server's certificate; the system's CAs when absent. */
  ca?: string;
  insecureSkipTlsVerify?: boolean;
  /** Called per request: a projected ServiceAccount token is rotated on disk. */
  token?: () => string;
  clientCert?: string;
  clientKey?: string;
}

export const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

/** The pod's ServiceAccount, as every in-cluster client finds it. */
export function inClusterAccess(
  env: NodeJS.ProcessEnv = process.env,
  dir = SERVICE_ACCOUNT_DIR,
): KubeAccess {
  const host = env.KUBERNETES_SERVICE_HOST;
  const port = env.KUBERNETES_SERVICE_PORT ?? '443';
  if (!host) {
    throw new Error(
      'not running in a pod (KUBERNETES_SERVICE_HOST is unset); pass --kubeconfig FILE',
    );
  }
  const tokenFile = `${dir}/token`;
  const read = () => readFileSync(tokenFile, 'utf8').trim();
  read(); // fail now, not on the first request, when the token is not mounted
  return {
    server: `https://${host.includes(':') ? `[${host}]` : host}:${port}`,
    ca: readFileSync(`${dir}/ca.crt`, 'utf8'),
    token: read,
  };
}

interface Named<T> {
  name: string;
  [key: string]: unknown;
  cluster?: T;
  user?: T;
  context?: T;
}
interface RawCluster {
  server?: string;
  'certificate-authority'?: string;
  'certificate-authority-data'?: string;
  'insecure-skip-tls-verify'?: boolean;
}
interface RawUser {
  token?: string;
  tokenFile?: string;
  'client-certificate'?: string;
  'client-certificate-data'?: string;
  'client-key'?: string;
  'client-key-data'?: string;
  exec?: unknown;
  'auth-provider'?: unknown;
}
interface RawContext {
  cluster?: string;
  user?: string;
}
interface RawKubeconfig {
  'current-context'?: string;
  clusters?: Named<RawCluster>[];
  users?: Named<RawUser>[];
  contexts?: Named<RawContext>[];
}

/**
 * The current context of one kubeconfig file, with its files read. The YAML
 * parser is loaded only here: in a pod the webhook never needs it.
 */
export async function kubeconfigAccess(file: string): Promise<KubeAccess> {
  const { parse: parseYaml } = await import('yaml');
  let raw: RawKubeconfig;
  try {
    raw = (parseYaml(readFileSync(file, 'utf8')) ?? {}) as RawKubeconfig;
  } catch (err) {
    throw new Error(`cannot read kubeconfig ${file}: ${(err as Error).message}`, { cause: err });
  }
  const base = dirname(file);
  const path = (p: string) => (isAbsolute(p) ? p : resolve(base, p));
  const pem = (data: string | undefined, ref: string | undefined) =>
    data
      ? Buffer.from(data, 'base64').toString('utf8')
      : ref
        ? readFileSync(path(ref), 'utf8')
        : undefined;

  const current = raw['current-context'];
  if (!current) throw new Error(`kubeconfig ${file} has no current-context`);
  const ctx = raw.contexts?.find((c) => c.name === current)?.context;
  if (!ctx) throw new Error(`kubeconfig ${file}: context "${current}" not found`);
  const cluster = raw.clusters?.find((c) => c.name === ctx.cluster)?.cluster;
  if (!cluster?.server) {
    throw new Error(
      `kubeconfig ${file}: cluster "${ctx.cluster}" of context "${current}" has no server`,
    );
  }
  const user = raw.users?.find((u) => u.name === ctx.user)?.user ?? {};
  if (user.exec || user['auth-provider']) {
    throw new Error(
      `kubeconfig ${file}: user "${ctx.user}" authenticates with an exec or auth-provider plugin, which the webhook does not run; use a token or client certificate`,
    );
  }
  const token =
    user.token ?? (user.tokenFile ? readFileSync(path(user.tokenFile), 'utf8').trim() : undefined);
  return {
    server: cluster.server.replace(/\/+$/, ''),
    ca: pem(cluster['certificate-authority-data'], cluster['certificate-authority']),
    insecureSkipTlsVerify: cluster['insecure-skip-tls-verify'] === true,
    token: token === undefined ? undefined : () => token,
    clientCert: pem(user['client-certificate-data'], user['client-certificate']),
    clientKey: pem(user['client-key-data'], user['client-key']),
  };
}
