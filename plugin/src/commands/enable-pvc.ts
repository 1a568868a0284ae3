import { summaryOf } from '../cli/catalog.ts';
import { Args, Command, Flags } from '@oclif/core';
import { kubeFlags, outputFlag } from '../cli/flags.ts';

export default class EnablePvc extends Command {
  static override summary = summaryOf('enable:pvc');
  static override description = `Checks both sides first (the PVC exists, the methods its StorageClass supports, the destination's volume mode equals the source's, the destination is large enough), then generates this replication's SSH keys, creates the destination PVC if absent, the key Secrets on both sides and the destination's mover endpoint, and annotates both PVCs. Running it again changes nothing; a failure removes what this run created.

--to takes CONTEXT[/NAMESPACE[/PVC]]: the namespace defaults to the source's, the PVC name to the source's. --method auto (the default) picks the most efficient method the source's storage supports and says why.

Several destinations (fan-out): repeat --to. Each destination is a target of the source with its own keys, endpoint, schedule and status. The PVC's first destination is its default target; a further one is named TARGET in --to TARGET=CONTEXT/NAMESPACE/PVC, or after its context when no name is given. One --schedule applies to every --to; several are matched to the --to flags in order. Adding a destination later is the same command with the new --to; the destinations already set up stay as they are. The method is one per PVC (live replicates to one destination only).

--read-only-copy NAME keeps a second PVC at the destination (at every destination this command sets up), restored from the newest complete snapshot after each sync; with --scrub-image and --scrub-command a Job first runs that command on a restore of it (read-write, at /data), and only a copy whose scrub succeeded is exposed. A pod that mounts the copy keeps the data it started with; the copy is replaced once no pod mounts it.

--quiesce-command makes copies application-consistent: before each point-in-time copy (snapshot or clone) Scribe's replicator runs it in every running container that mounts the PVC (or only --quiesce-container), and --unquiesce-command once the copy is cut or the sync fails; each may run --quiesce-timeout. A JSON array is run as is, without a shell ('["fsfreeze","-f","/data"]'); other text runs with sh -c. A hook that fails or times out fails the sync (after the unquiesce command ran); with no running pod the copy is crash-consistent, and status -o wide says which. This creates the Role and RoleBinding scribe-quiesce in the namespace, letting the replicator exec in its pods; an empty --quiesce-command removes the hook.`;
  static override examples = [
    'kubectl scribe enable pvc data --to dr',
    'kubectl scribe enable pvc data -n shop --to dr/shop-dr/data-replica --schedule "*/30 * * * *"',
    'kubectl scribe enable pvc data --to dr --method snapshot --dest-storage-class fast --dry-run',
    'kubectl scribe enable pvc data --to staging --read-only-copy data-ro --scrub-image registry.example.com/scrub:1 --scrub-command \'["/scrub", "--table", "users"]\'',
    'kubectl scribe enable pvc data --to dr --to analytics=lake/bi/data --schedule "*/15 * * * *" --schedule "0 3 * * *"',
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
      multiple: true,
      // kubectl's way: one value per flag, so `--to dr data` leaves NAME alone.
      multipleNonGreedy: true,
      summary:
        'A destination: [TARGET=]CONTEXT[/NAMESPACE[/PVC]]. Repeat it to replicate to several.',
    }),
    method: Flags.string({
      default: 'auto',
      summary: "auto | clone | snapshot | live | a storage vendor's method.",
    }),
    schedule: Flags.string({
      multiple: true,
      multipleNonGreedy: true,
      summary:
        'A 5-field cron schedule (UTC), or "manual" for kubectl scribe sync only (default "*/15 * * * *"). One applies to every --to; or give one per --to, in the same order.',
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
    'read-only-copy': Flags.string({
      summary:
        "Also keep a PVC of this name at the destination, restored from each new snapshot for others to mount (e.g. analytics), refreshed once no pod mounts it; '' removes it.",
    }),
    'read-only-copy-access-mode': Flags.string({
      options: ['ReadOnlyMany', 'ReadWriteOnce', 'ReadWriteMany', 'ReadWriteOncePod'],
      summary: "The read-only copy's access mode (default ReadOnlyMany).",
    }),
    'read-only-copy-storage-class': Flags.string({
      summary: "The read-only copy's StorageClass (default: the destination's).",
    }),
    'scrub-image': Flags.string({
      summary: 'Run a scrub step in this image on each new copy before it is exposed.',
    }),
    'scrub-command': Flags.string({
      summary:
        'The scrub command: a JSON array, or words split at spaces (no shell). The copy is at /data.',
    }),
    'scrub-timeout': Flags.string({
      summary: 'How long the scrub step may run, e.g. 10m (default 10m).',
    }),
    'scrub-run-as-user': Flags.string({
      summary:
        'Run the scrub step as this non-root UID with no capabilities (default: root with file-ownership capabilities only).',
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
