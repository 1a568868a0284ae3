import { summaryOf } from '../cli/catalog.ts';
import { Args, Command, Flags } from '@oclif/core';
import { kubeFlags, outputFlag } from '../cli/flags.ts';

export default class EnablePvc extends Command {
  static override summary = summaryOf('enable:pvc');
  static override description = `Checks both sides first (the PVC exists, the methods its StorageClass supports, the destination's volume mode equals the source's, the destination is large enough), then generates this replication's SSH keys, creates the destination PVC if absent, the key Secrets on both sides and the destination's mover endpoint, and annotates both PVCs. Running it again changes nothing; a failure removes what this run created.

--to takes CONTEXT[/NAMESPACE[/PVC]]: the namespace defaults to the source's, the PVC name to the source's. --method auto (the default) picks the most efficient method the source's storage supports and says why.

--quiesce-command makes copies application-consistent: before each point-in-time copy (snapshot or clone) Scribe's replicator runs it in every running container that mounts the PVC (or only --quiesce-container), and --unquiesce-command once the copy is cut or the sync fails; each may run --quiesce-timeout. A JSON array is run as is, without a shell ('["fsfreeze","-f","/data"]'); other text runs with sh -c. A hook that fails or times out fails the sync (after the unquiesce command ran); with no running pod the copy is crash-consistent, and status -o wide says which. This creates the Role and RoleBinding scribe-quiesce in the namespace, letting the replicator exec in its pods; an empty --quiesce-command removes the hook.`;
  static override examples = [
    'kubectl scribe enable pvc data --to dr',
    'kubectl scribe enable pvc data -n shop --to dr/shop-dr/data-replica --schedule "*/30 * * * *"',
    'kubectl scribe enable pvc data --to dr --method snapshot --dest-storage-class fast --dry-run',
    `kubectl scribe enable pvc db --to dr --quiesce-command 'psql -c CHECKPOINT' --quiesce-container postgres`,
    `kubectl scribe enable pvc db --to dr --quiesce-command '["fsfreeze","-f","/data"]' --unquiesce-command '["fsfreeze","-u","/data"]' --quiesce-timeout 1m`,
  ];
  static override args = {
    name: Args.string({ required: true, description: 'The source PVC.' }),
  };
  static override flags = {
    ...kubeFlags,
    to: Flags.string({
      required: true,
      summary: 'The destination: CONTEXT[/NAMESPACE[/PVC]].',
    }),
    method: Flags.string({
      default: 'auto',
      summary: "auto | clone | snapshot | live | a storage vendor's method.",
    }),
    schedule: Flags.string({
      default: '*/15 * * * *',
      summary: 'A 5-field cron schedule (UTC), or "manual" for kubectl scribe sync only.',
    }),
    'dest-storage-class': Flags.string({ summary: "The destination PVC's StorageClass." }),
    'dest-access-mode': Flags.string({
      options: ['ReadWriteOnce', 'ReadWriteOncePod', 'ReadWriteMany', 'ReadOnlyMany'],
      summary: "The destination PVC's access mode (default: the source's).",
    }),
    'dest-capacity': Flags.string({
      summary: "The destination PVC's size, e.g. 20Gi (default: the source's).",
    }),
    'service-type': Flags.string({
      options: ['ClusterIP', 'LoadBalancer', 'NodePort'],
      summary:
        "How the destination's endpoint is reached (default: ClusterIP within one cluster, else LoadBalancer).",
    }),
    'endpoint-timeout': Flags.string({
      default: '2m',
      summary: "How long to wait for the destination endpoint's address.",
    }),
    'quiesce-command': Flags.string({
      summary:
        'Run before each copy in the pods that mount the PVC: a JSON argv, or text for sh -c ("" removes the hook).',
    }),
    'unquiesce-command': Flags.string({
      summary: 'Run once the copy is cut, or when the sync fails (same forms).',
    }),
    'quiesce-container': Flags.string({
      summary: 'The container to run the hooks in (default: each that mounts the PVC).',
    }),
    'quiesce-timeout': Flags.string({
      summary: 'How long each hook command may run, e.g. 30s (the default), 2m.',
    }),
    'skip-webhook-check': Flags.boolean({
      summary: 'Enable even if the Scribe webhook is not installed on the source cluster.',
    }),
    'dry-run': Flags.boolean({
      summary: 'Print what would be created and changed; change nothing.',
    }),
    output: outputFlag(['json', 'yaml']),
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(EnablePvc);
    const { enablePvc } = await import('../actions/enable.ts');
    await enablePvc(args.name, flags);
  }
}
