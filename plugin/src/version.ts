import { readFileSync } from 'node:fs';

// The package's version, read at run time (no JSON import: typecheck has no
// resolveJsonModule, and this costs well under a millisecond).
const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
  version: string;
};

export const VERSION: string = pkg.version;
/** The mover image the plugin deploys: the same release as the plugin. */
export const MOVER_IMAGE = `ghcr.io/backube/scribe:v${VERSION}`;
