import { summaryOf } from '../cli/catalog.ts';
import { Args, Command, Flags } from '@oclif/core';
import { kubeFlags, outputFlag } from '../cli/flags.ts';

export default class Status extends Command {
  static override summary = summaryOf('status');
  static override examples = [
    'kubectl scribe status',
    'kubectl scribe status -A -o wide',
    'kubectl scribe status pvc data -o yaml',
  ];
  static override args = {
    type: Args.string({ options: ['pvc'], description: 'The resource type: pvc.' }),
    name: Args.string({ description: 'One PVC.' }),
  };
  static override flags = {
    ...kubeFlags,
    'all-namespaces': Flags.boolean({ char: 'A', summary: 'List PVCs in every namespace.' }),
    output: outputFlag(['json', 'yaml', 'wide']),
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(Status);
    const { status } = await import('../actions/status.ts');
    await status(args.name, flags);
  }
}
