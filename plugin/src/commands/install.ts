import { summaryOf } from '../cli/catalog.ts';
import { Command, Flags } from '@oclif/core';
import { kubeFlags } from '../cli/flags.ts';

export default class Install extends Command {
  static override summary = summaryOf('install');
  static override description =
    "Applies manifests/ (the build for the server's version) with server-side apply, waits until the Deployments are available and the webhook answers an admission request, and reports. Running it again upgrades.";
  static override examples = [
    'kubectl scribe install --context prod',
    'kubectl scribe install --dry-run',
  ];
  static override flags = {
    ...kubeFlags,
    'dry-run': Flags.boolean({
      summary: 'Send every object with dryRun=All (the server validates, nothing changes).',
    }),
    'wait-timeout': Flags.string({
      summary: 'How long to wait for the Deployments and the webhook: 90s, 5m.',
      default: '5m',
    }),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(Install);
    const { install } = await import('../actions/install.ts');
    await install(flags);
  }
}
