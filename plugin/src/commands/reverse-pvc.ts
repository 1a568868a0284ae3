import { summaryOf } from '../cli/catalog.ts';
import { Args, Command, Flags } from '@oclif/core';
import { kubeFlags } from '../cli/flags.ts';

export default class ReversePvc extends Command {
  static override summary = summaryOf('reverse:pvc');
  static override description = [
    'Run it at the site the application now runs at (after kubectl scribe failover), once the primary is back.',
    "The primary's old PVC (recorded by failover, or --to) becomes the destination: its old replication is retired and its volume reused, so only the differences cross. Stop the application there first; reverse asks before overwriting it, unless --yes.",
    'To fail back later, stop the application at the DR site and run reverse again at the primary (kubectl scribe reverse pvc NAME --context PRIMARY): a final sync carries the last writes over, the primary takes its PVC over as it then is, and replication runs in the original direction again.',
  ].join('\n\n');
  static override examples = [
    'kubectl scribe reverse pvc data --context dr',
    'kubectl scribe reverse pvc data --context dr --to prod/apps/data --schedule "0 * * * *" --yes',
    'kubectl scribe reverse pvc data --context prod   # fail back, once the application at dr is stopped',
  ];
  static override args = {
    name: Args.string({
      required: true,
      description: 'The PVC the application uses at this site.',
    }),
  };
  static override flags = {
    ...kubeFlags,
    to: Flags.string({
      summary:
        'The new destination, CONTEXT[/NAMESPACE[/PVC]] (default: the PVC failed over from).',
    }),
    method: Flags.string({ summary: 'auto | clone | snapshot | live (default: auto).' }),
    schedule: Flags.string({
      summary: 'A 5-field cron schedule, or "manual" (default: the old replication\'s).',
    }),
    'service-type': Flags.string({
      options: ['ClusterIP', 'LoadBalancer', 'NodePort'],
      summary: "How the new destination's endpoint is reached.",
    }),
    'endpoint-timeout': Flags.string({
      default: '2m',
      summary: "How long to wait for the new destination endpoint's address.",
    }),
    'skip-webhook-check': Flags.boolean({
      summary: 'Reverse even if the Scribe webhook is not installed at this site.',
    }),
    yes: Flags.boolean({
      char: 'y',
      summary: "Do not ask before overwriting the primary's volume.",
    }),
    'dry-run': Flags.boolean({ summary: 'Print what would be done; change nothing.' }),
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(ReversePvc);
    const { reversePvc } = await import('../actions/reverse.ts');
    await reversePvc(args.name, flags);
  }
}
