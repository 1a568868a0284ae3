import { summaryOf } from '../cli/catalog.ts';
import { Args, Command, Flags } from '@oclif/core';
import { kubeFlags } from '../cli/flags.ts';

export default class FailoverPvc extends Command {
  static override summary = summaryOf('failover:pvc');
  static override description = [
    'Run it against the DR cluster (--context): it talks to nothing else, so it works when the primary is down.',
    'By default the destination PVC is replaced by a PVC of the same name restored from its newest complete snapshot (it asks first, unless --yes); --as NAME restores into a new PVC and keeps the destination; --from volume keeps the destination volume as it is, which is incomplete if a transfer was cut off.',
    'Replication into the PVC stops: its receivers, endpoint and keys are deleted. Safe to run again: a finished failover is left alone and a cut-off one resumes.',
  ].join('\n\n');
  static override examples = [
    'kubectl scribe failover pvc data --context dr',
    'kubectl scribe failover pvc data --context dr --as data-restored',
    'kubectl scribe failover pvc data --context dr --snapshot scribe-data-20261206t101500z --yes',
    'kubectl scribe failover pvc data --context dr --from volume',
  ];
  static override args = {
    name: Args.string({ required: true, description: 'The destination PVC at the DR site.' }),
  };
  static override flags = {
    ...kubeFlags,
    from: Flags.string({
      options: ['snapshot', 'volume'],
      default: 'snapshot',
      summary: 'The data to fail over to: the newest complete snapshot, or the volume as it is.',
    }),
    snapshot: Flags.string({ summary: 'A destination snapshot other than the newest.' }),
    as: Flags.string({
      summary: 'Restore into a new PVC of this name and keep the destination PVC.',
    }),
    yes: Flags.boolean({ char: 'y', summary: 'Do not ask before replacing the destination PVC.' }),
    'dry-run': Flags.boolean({ summary: 'Print what would be done; change nothing.' }),
    timeout: Flags.string({
      default: '5m',
      summary: 'How long to wait for receivers to stop and the old PVC to go.',
    }),
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(FailoverPvc);
    const { failoverPvc } = await import('../actions/failover.ts');
    await failoverPvc(args.name, flags);
  }
}
