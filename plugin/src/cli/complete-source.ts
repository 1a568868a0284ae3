// Completion's lookups: flags from the command classes, names from the
// kubeconfig, namespaces and PVCs from the cluster (quickly, or not at all).
import { parseSpec, sourceTargets } from '../../../model/src/index.ts';
import { connect } from '../actions/connect.ts';
import { commands } from '../commands/index.ts';
import { kubeconfigPaths, processEnvironment, readKubeconfigs } from '../kubeconfig/load.ts';
import type { CompletionSource, FlagInfo } from './complete.ts';

type FlagDef = {
  type: 'option' | 'boolean';
  char?: string;
  options?: readonly string[];
  hidden?: boolean;
};

function merged(flags: Record<string, string>) {
  try {
    return readKubeconfigs(kubeconfigPaths(flags.kubeconfig, processEnvironment()));
  } catch {
    return undefined;
  }
}

const connectFlags = (flags: Record<string, string>) => ({
  ...flags,
  // A shell waits for these answers: give up quickly.
  'request-timeout': '3s',
});

export const completionSource: CompletionSource = {
  flagsOf(id) {
    const cmd = (commands as Record<string, { flags?: Record<string, FlagDef> }>)[id];
    return Object.entries(cmd?.flags ?? {})
      .filter(([, f]) => !f.hidden)
      .map(([name, f]): FlagInfo => ({
        name,
        char: f.char,
        takesValue: f.type === 'option',
        options: f.options,
      }));
  },
  contexts: (flags) => merged(flags)?.contexts.map((c) => c.name) ?? [],
  clusters: (flags) => merged(flags)?.clusters.map((c) => c.name) ?? [],
  users: (flags) => merged(flags)?.users.map((c) => c.name) ?? [],
  async namespaces(flags) {
    try {
      const c = connect(connectFlags(flags));
      try {
        const list = await c.rest.request<{ items?: { metadata?: { name?: string } }[] }>({
          method: 'GET',
          path: '/api/v1/namespaces',
          intent: { verb: 'list', resource: 'namespaces' },
        });
        return (list.items ?? []).map((n) => n.metadata?.name ?? '').filter(Boolean);
      } finally {
        c.close();
      }
    } catch {
      return [];
    }
  },
  async pvcs(flags, replicated) {
    try {
      const c = connect(connectFlags(flags));
      try {
        const list = await c.listPvcs(c.namespace);
        return (list.items ?? [])
          .filter((p) => !replicated || parseSpec(p.metadata?.annotations).spec?.role === 'source')
          .map((p) => p.metadata?.name ?? '')
          .filter(Boolean);
      } finally {
        c.close();
      }
    } catch {
      return [];
    }
  },
  async targets(flags, name) {
    try {
      const c = connect(connectFlags(flags));
      try {
        const spec = parseSpec((await c.getPvc(c.namespace, name)).metadata?.annotations).spec;
        return spec?.role === 'source' ? sourceTargets(spec).map((t) => t.name) : [];
      } finally {
        c.close();
      }
    } catch {
      return [];
    }
  },
};
