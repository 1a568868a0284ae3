import { summaryOf } from '../cli/catalog.ts';
import { Command } from '@oclif/core';
import { kubeFlags, outputFlag } from '../cli/flags.ts';

export default class Doctor extends Command {
  static override summary = summaryOf('doctor');
  static override description =
    'Checks the webhook (Deployments, an admission round trip, its CA and caBundle), the snapshot API and VolumeSnapshotClasses, what each StorageClass can do, and the RBAC kubectl scribe needs. Exits 1 when a check fails.';
  static override examples = [
    'kubectl scribe doctor --context prod',
    'kubectl scribe doctor -o json',
  ];
  static override flags = {
    ...kubeFlags,
    output: outputFlag(['json', 'yaml', 'wide']),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(Doctor);
    const { doctor } = await import('../actions/doctor.ts');
    await doctor(flags);
  }
}
