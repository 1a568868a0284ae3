import { summaryOf } from '../cli/catalog.ts';
import { Command, Flags } from '@oclif/core';
import { outputFlag } from '../cli/flags.ts';

export default class Version extends Command {
  static override summary = summaryOf('version');
  static override examples = ['kubectl scribe version', 'kubectl scribe version -o json'];
  static override flags = {
    client: Flags.boolean({
      summary: 'Accepted for kubectl compatibility; only the plugin has a version.',
    }),
    output: outputFlag(['json', 'yaml']),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(Version);
    const { versionInfo, renderVersion } = await import('../output/version.ts');
    process.stdout.write(renderVersion(versionInfo(), flags.output));
  }
}
