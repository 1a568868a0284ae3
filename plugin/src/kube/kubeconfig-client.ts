// The edge to @kubernetes/client-node's KubeConfig: only this layer imports
// the library (its import alone costs most of a second), and only commands
// that talk to a cluster load it.
import { readFileSync } from 'node:fs';
import { KubeConfig, type Cluster, type Context, type User } from '@kubernetes/client-node';
import { CliError } from '../errors.ts';
import type { ResolvedConfig } from '../kubeconfig/types.ts';

/**
 * A KubeConfig holding exactly the resolved context, built with
 * loadFromOptions so the library's own file merging (last file wins, throws on
 * duplicate names) never runs. Exec credential plugins and client certificates
 * are then the library's job.
 */
export function toKubeConfig(r: ResolvedConfig): KubeConfig {
  const name = r.contextName || 'scribe';
  const c = r.cluster;
  const cluster: Cluster = {
    name: r.clusterName || name,
    server: c.server.replace(/\/$/, ''),
    caData: c['certificate-authority-data'],
    caFile: c['certificate-authority'],
    skipTLSVerify: c['insecure-skip-tls-verify'] === true,
    tlsServerName: c['tls-server-name'],
    proxyUrl: c['proxy-url'],
  };
  const u = r.user;
  let token = u.token;
  let authProvider: User['authProvider'] = u['auth-provider'];
  if (!token && u.tokenFile) {
    if (r.inCluster) {
      // A projected service-account token rotates: let the library re-read it.
      authProvider = { name: 'tokenFile', config: { tokenFile: u.tokenFile } };
    } else {
      try {
        token = readFileSync(u.tokenFile, 'utf8').trim();
      } catch (err) {
        throw new CliError(
          `cannot read tokenFile ${u.tokenFile} of user "${r.userName}": ${(err as NodeJS.ErrnoException).code ?? err}`,
        );
      }
    }
  }
  const user: User = {
    name: r.userName || name,
    token,
    certData: u['client-certificate-data'],
    certFile: u['client-certificate'],
    keyData: u['client-key-data'],
    keyFile: u['client-key'],
    username: u.username,
    password: u.password,
    impersonateUser: u.as,
    exec: u.exec,
    authProvider,
  };
  const context: Context = { name, cluster: cluster.name, user: user.name, namespace: r.namespace };
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [cluster],
    users: [user],
    contexts: [context],
    currentContext: name,
  });
  return kc;
}
