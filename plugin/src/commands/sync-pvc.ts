import { summaryOf } from '../cli/catalog.ts';
import { Args, Command, Flags } from '@oclif/core';
import { kubeFlags, outputFlag } from '../cli/flags.ts';

export default class SyncPvc extends Command {
  static override summary = summaryOf('sync:pvc');
  static override description =
    "Sets the PVC's sync trigger, which Scribe's in-cluster server acts on once. With --wait, shows progress until that sync ends and prints its result. A PVC with several destinations syncs to all of them, each on its own, unless --target names one.";
  static override examples = [
    'kubectl scribe sync pvc data',
    'kubectl scribe sync pvc data --wait',
    'kubectl scribe sync pvc data --target analytics --wait',
  ];
  static override args = {
    name: Args.string({ required: true, description: 'The source PVC.' }),
  };
  static override flags = {
    ...kubeFlags,
    target: Flags.string({
      summary: 'Sync only this destination of the PVC (see kubectl scribe status); default: all.',
    }),
    wait: Flags.boolean({ summary: 'Wait for the sync to finish and print its result.' }),
    timeout: Flags.string({
      default: '30m',
      summary: 'With --wait: how long to wait before giving up (the sync goes on).',
    }),
    output: outputFlag(['json', 'yaml']),
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(SyncPvc);
    const { syncPvc } = await import('../actions/sync.ts');
    await syncPvc(args.name, flags);
  }
}
