// kubectl's connection flags, on every command that talks to a cluster.
import { Flags } from '@oclif/core';

const group = 'KUBECTL';

export const kubeFlags = {
  kubeconfig: Flags.string({
    helpGroup: group,
    summary: 'Path to the kubeconfig file to use (instead of KUBECONFIG or ~/.kube/config).',
  }),
  context: Flags.string({ helpGroup: group, summary: 'The kubeconfig context to use.' }),
  cluster: Flags.string({ helpGroup: group, summary: 'The kubeconfig cluster to use.' }),
  user: Flags.string({ helpGroup: group, summary: 'The kubeconfig user to use.' }),
  namespace: Flags.string({
    char: 'n',
    helpGroup: group,
    summary: "The namespace (default: the context's namespace, else default).",
  }),
  'request-timeout': Flags.string({
    helpGroup: group,
    summary: 'How long to wait for one server request: 0 (none), 30, 1s, 2m, 3h.',
    default: '0',
  }),
};

export const outputFlag = (options: readonly string[]) =>
  Flags.string({
    char: 'o',
    options: [...options],
    summary: `Output format: ${options.join('|')}.`,
  });

/** The flag values the connection layer reads. */
export interface KubeFlagValues {
  kubeconfig?: string | undefined;
  context?: string | undefined;
  cluster?: string | undefined;
  user?: string | undefined;
  namespace?: string | undefined;
  'request-timeout'?: string | undefined;
}
