import { readFileSync } from 'node:fs';

// The release bundle (release/build) defines this at build time: the
// standalone binary has no package.json beside it.
declare const SCRIBE_BUILD_VERSION: string | undefined;

/** The package's version: the release's, else package.json's (run from the sources). */
export const VERSION: string =
  typeof SCRIBE_BUILD_VERSION === 'string' ? SCRIBE_BUILD_VERSION : packageVersion();

// No JSON import: typecheck has no resolveJsonModule, and this costs well
// under a millisecond.
function packageVersion(): string {
  const url = new URL('../../package.json', import.meta.url);
  return (JSON.parse(readFileSync(url, 'utf8')) as { version: string }).version;
}

/** The mover image the plugin deploys: the same release as the plugin. */
export const MOVER_IMAGE = `ghcr.io/backube/scribe:v${VERSION}`;
