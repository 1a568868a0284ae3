import { summaryOf } from '../cli/catalog.ts';
import { Command, Flags } from '@oclif/core';
import { kubeFlags } from '../cli/flags.ts';

export default class Uninstall extends Command {
  static override summary = summaryOf('uninstall');
  static override description =
    "Deletes what install applied: the scribe-system namespace (the webhook, the replicator, the webhook's CA) and the cluster-wide objects labelled app.kubernetes.io/name=scribe (RBAC, webhook configurations, admission policy). Replicated PVCs and their data are never touched; while any exist, uninstall refuses unless --force.";
  static override examples = [
    'kubectl scribe uninstall --context prod',
    'kubectl scribe uninstall --force --yes',
  ];
  static override flags = {
    ...kubeFlags,
    force: Flags.boolean({ summary: 'Remove Scribe even while PVCs are replicated.' }),
    yes: Flags.boolean({ char: 'y', summary: 'Do not ask for confirmation.' }),
    'dry-run': Flags.boolean({ summary: 'Send the deletes with dryRun=All; change nothing.' }),
    'wait-timeout': Flags.string({
      summary: 'How long to wait for the namespace to be removed: 90s, 5m.',
      default: '5m',
    }),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(Uninstall);
    const { uninstall } = await import('../actions/uninstall.ts');
    await uninstall(flags);
  }
}
