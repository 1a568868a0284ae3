import { Help } from '@oclif/core';
import { renderRootHelp } from './catalog.ts';

/** oclif's help, except the root page, which is the fast path's page. */
export default class ScribeHelp extends Help {
  protected override async showRootHelp(): Promise<void> {
    process.stdout.write(renderRootHelp());
  }
}
