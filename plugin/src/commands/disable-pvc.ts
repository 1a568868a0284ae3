import { summaryOf } from '../cli/catalog.ts';
import { Args, Command, Flags } from '@oclif/core';
import { kubeFlags } from '../cli/flags.ts';

export default class DisablePvc extends Command {
  static override summary = summaryOf('disable:pvc');
  static override description =
    'The destination PVC and its data stay unless --delete-destination is given. A PVC with several destinations loses all of them, unless --target names one: then only that destination, its keys and status go, and the others replicate on.';
  static override examples = [
    'kubectl scribe disable pvc data',
    'kubectl scribe disable pvc data --delete-destination',
    'kubectl scribe disable pvc data --target analytics',
  ];
  static override args = {
    name: Args.string({ required: true, description: 'The source PVC.' }),
  };
  static override flags = {
    ...kubeFlags,
    target: Flags.string({
      summary: 'Remove only this destination of the PVC (see kubectl scribe status).',
    }),
    'delete-destination': Flags.boolean({
      summary: 'Also delete the destination PVC and its data.',
    }),
    'dry-run': Flags.boolean({ summary: 'Print what would be removed; change nothing.' }),
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(DisablePvc);
    const { disablePvc } = await import('../actions/disable.ts');
    await disablePvc(args.name, flags);
  }
}
