// Two stand-in clusters, "source" and "destination", and one kubeconfig
// with a context for each: what `npm run stand-in` serves and what
// cross-cluster tests start.

import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createAdmissionChain } from './admission/chain.ts';
import { startCluster, type Cluster, type ClusterOptions } from './cluster.ts';

export const CONTEXTS = ['source', 'destination'] as const;

export interface TwoClusters {
  source: Cluster;
  destination: Cluster;
  /** The kubeconfig with contexts `source` and `destination` (current: source). */
  kubeconfig: object;
  writeKubeconfig(path: string): Promise<void>;
  stop(): Promise<void>;
}

interface KubeconfigFile {
  clusters: unknown[];
  users: unknown[];
  contexts: unknown[];
}

/** One kubeconfig holding every cluster's own entries, each under its context name. */
export function mergeKubeconfigs(parts: object[], current: string): object {
  const merged = {
    apiVersion: 'v1',
    kind: 'Config',
    preferences: {},
    clusters: [] as unknown[],
    users: [] as unknown[],
    contexts: [] as unknown[],
    'current-context': current,
  };
  for (const p of parts as KubeconfigFile[]) {
    merged.clusters.push(...p.clusters);
    merged.users.push(...p.users);
    merged.contexts.push(...p.contexts);
  }
  return merged;
}

export async function startTwoClusters(
  dir: string,
  opts: Omit<ClusterOptions, 'name' | 'dir' | 'addressBlock'> & { addressBlock?: number } = {},
): Promise<TwoClusters> {
  // Without a block asked for, each cluster claims a free one (claimBlock).
  const base = opts.addressBlock;
  // Admission as kube-apiserver does it: registered webhooks are called.
  opts = { admission: createAdmissionChain, ...opts };
  const source = await startCluster({
    ...opts,
    name: 'source',
    dir: join(dir, 'source'),
    addressBlock: base,
  });
  let destination: Cluster;
  try {
    destination = await startCluster({
      ...opts,
      name: 'destination',
      dir: join(dir, 'destination'),
      addressBlock: base === undefined ? undefined : base + 1,
    });
  } catch (err) {
    await source.stop().catch(() => undefined);
    throw err;
  }
  const kubeconfig = mergeKubeconfigs(
    [source.kubeconfig('source'), destination.kubeconfig('destination')],
    'source',
  );
  const written: string[] = [];
  return {
    source,
    destination,
    kubeconfig,
    async writeKubeconfig(path) {
      await writeFile(path, `${JSON.stringify(kubeconfig, null, 2)}\n`, { mode: 0o600 });
      written.push(path);
    },
    async stop() {
      const results = await Promise.allSettled([source.stop(), destination.stop()]);
      for (const path of written) await rm(path, { force: true });
      const failed = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failed.length > 0)
        throw new AggregateError(
          failed.map((f) => f.reason as unknown),
          'stand-in: incomplete stop',
        );
    },
  };
}
