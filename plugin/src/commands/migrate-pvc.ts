import { summaryOf } from '../cli/catalog.ts';
import { Args, Command, Flags } from '@oclif/core';
import { kubeFlags } from '../cli/flags.ts';

export default class MigratePvc extends Command {
  static override summary = summaryOf('migrate:pvc');
  static override description = [
    'Enables replication to the destination (on request only) if it is not on yet, then syncs while the application runs until a sync moves at most --max-delta.',
    'With --cutover it then scales the workloads that mount the PVC to zero (asking first, unless --yes), makes a final sync that compares contents, hands the destination PVC over, disables the replication and reports the downtime. Start the application on the destination PVC afterwards.',
    'Safe to run again: a cut-off cutover goes on where it stopped; --rollback scales the workloads back up on the old PVC.',
  ].join('\n\n');
  static override examples = [
    'kubectl scribe migrate pvc data --to new-cluster',
    'kubectl scribe migrate pvc data --to new-cluster --cutover --yes',
    'kubectl scribe migrate pvc data --to prod/apps/data-fast --dest-storage-class fast-ssd --cutover',
    'kubectl scribe migrate pvc data --rollback',
  ];
  static override args = {
    name: Args.string({ required: true, description: 'The PVC to migrate.' }),
  };
  static override flags = {
    ...kubeFlags,
    to: Flags.string({ summary: 'The destination: CONTEXT[/NAMESPACE[/PVC]].' }),
    'dest-storage-class': Flags.string({ summary: "The destination PVC's StorageClass." }),
    'service-type': Flags.string({
      options: ['ClusterIP', 'LoadBalancer', 'NodePort'],
      summary: "How the destination's endpoint is reached.",
    }),
    'endpoint-timeout': Flags.string({
      default: '2m',
      summary: "How long to wait for the destination endpoint's address.",
    }),
    'skip-webhook-check': Flags.boolean({
      summary: 'Migrate even if the Scribe webhook is not installed on this cluster.',
    }),
    'max-delta': Flags.string({
      default: '64Mi',
      summary: 'Background syncs stop once one moves at most this much.',
    }),
    'max-rounds': Flags.integer({
      default: 10,
      min: 1,
      summary: 'At most this many background syncs.',
    }),
    cutover: Flags.boolean({ summary: 'Stop the workloads, make the final sync and hand over.' }),
    rollback: Flags.boolean({
      summary: 'Undo a cutover: scale the workloads back up on this PVC.',
      exclusive: ['cutover'],
    }),
    yes: Flags.boolean({ char: 'y', summary: 'Do not ask before stopping the workloads.' }),
    'dry-run': Flags.boolean({ summary: 'Print what would be done; change nothing.' }),
    timeout: Flags.string({
      default: '30m',
      summary: 'How long to wait for each sync, and for the workloads to stop.',
    }),
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(MigratePvc);
    const { migratePvc } = await import('../actions/migrate.ts');
    await migratePvc(args.name, flags);
  }
}
