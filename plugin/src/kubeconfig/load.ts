import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, join, resolve as resolvePath } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { CliError } from '../errors.ts';
import { mergeKubeconfigs, type KubeconfigFile } from './merge.ts';
import { resolveContext } from './resolve.ts';
import type { KubeconfigOverrides, MergedKubeconfig, ResolvedConfig } from './types.ts';

export const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

export interface LoadEnvironment {
  env: Record<string, string | undefined>;
  home: string;
  /** Where a pod's service account files are mounted. */
  serviceAccountDir: string;
}

export function processEnvironment(): LoadEnvironment {
  return { env: process.env, home: homedir(), serviceAccountDir: SERVICE_ACCOUNT_DIR };
}

/**
 * The kubeconfig files kubectl would read, in precedence order: --kubeconfig
 * alone (it must exist); else every file in KUBECONFIG that exists (duplicates
 * dropped); else ~/.kube/config if it exists.
 */
export function kubeconfigPaths(explicit: string | undefined, e: LoadEnvironment): string[] {
  if (explicit) {
    const p = resolvePath(explicit);
    if (!existsSync(p)) {
      throw new CliError(`kubeconfig file ${p} does not exist (from --kubeconfig)`);
    }
    return [p];
  }
  const list = e.env.KUBECONFIG;
  if (list) {
    const seen = new Set<string>();
    for (const entry of list.split(delimiter)) {
      if (!entry) continue;
      const p = resolvePath(entry);
      if (!seen.has(p) && existsSync(p)) seen.add(p);
    }
    return [...seen];
  }
  const home = join(e.home, '.kube', 'config');
  return existsSync(home) ? [home] : [];
}

export function readKubeconfigs(paths: string[]): MergedKubeconfig {
  const files: KubeconfigFile[] = paths.map((path) => {
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? String(err);
      throw new CliError(`error loading config file "${path}": ${code}`, { cause: err });
    }
    try {
      return { path, content: parseYaml(text) as unknown };
    } catch (err) {
      throw new CliError(
        `error loading config file "${path}": ${(err as Error).message.split('\n')[0]}`,
        { cause: err },
      );
    }
  });
  try {
    return mergeKubeconfigs(files);
  } catch (err) {
    throw new CliError((err as Error).message, { cause: err });
  }
}

/**
 * Loads the configuration for one cluster as kubectl does: kubeconfig files
 * and flags, or, in a pod with no kubeconfig and no --context/--cluster/--user,
 * the pod's service account.
 */
export function loadConfig(
  overrides: KubeconfigOverrides,
  e: LoadEnvironment = processEnvironment(),
): { resolved: ResolvedConfig; merged: MergedKubeconfig } {
  const paths = kubeconfigPaths(overrides.kubeconfig, e);
  const merged = readKubeconfigs(paths);
  const host = e.env.KUBERNETES_SERVICE_HOST;
  const port = e.env.KUBERNETES_SERVICE_PORT;
  const empty = merged.clusters.length === 0 && merged.contexts.length === 0;
  if (empty && host && port && !overrides.context && !overrides.cluster && !overrides.user) {
    return { resolved: inClusterConfig(host, port, overrides.namespace, e), merged };
  }
  return { resolved: resolveContext(merged, overrides), merged };
}

function inClusterConfig(
  host: string,
  port: string,
  namespace: string | undefined,
  e: LoadEnvironment,
): ResolvedConfig {
  const tokenFile = join(e.serviceAccountDir, 'token');
  if (!existsSync(tokenFile)) {
    throw new CliError(
      `running in a pod (KUBERNETES_SERVICE_HOST is set) but ${tokenFile} does not exist: mount a service account token or pass --kubeconfig`,
    );
  }
  let podNamespace = '';
  try {
    podNamespace = readFileSync(join(e.serviceAccountDir, 'namespace'), 'utf8').trim();
  } catch {
    // kubectl falls back to "default" too
  }
  const h = host.includes(':') ? `[${host}]` : host;
  return {
    contextName: '',
    clusterName: 'in-cluster',
    userName: 'in-cluster',
    cluster: {
      server: `https://${h}:${port}`,
      'certificate-authority': join(e.serviceAccountDir, 'ca.crt'),
    },
    user: { tokenFile },
    namespace: namespace || podNamespace || 'default',
    namespaceExplicit: Boolean(namespace),
    inCluster: true,
  };
}
