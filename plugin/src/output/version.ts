import { MOVER_IMAGE, VERSION } from '../version.ts';

export interface VersionInfo {
  clientVersion: {
    scribeVersion: string;
    moverImage: string;
    nodeVersion: string;
    platform: string;
  };
}

export function versionInfo(): VersionInfo {
  return {
    clientVersion: {
      scribeVersion: `v${VERSION}`,
      moverImage: MOVER_IMAGE,
      nodeVersion: process.version,
      platform: `${process.platform}/${process.arch}`,
    },
  };
}

/** kubectl version's shapes: a line per fact, or the object as JSON/YAML. */
export function renderVersion(info: VersionInfo, output?: string): string {
  const c = info.clientVersion;
  if (output === 'json') return `${JSON.stringify(info, null, 2)}\n`;
  if (output === 'yaml') {
    return (
      'clientVersion:\n' +
      Object.entries(c)
        .map(([k, v]) => `  ${k}: ${v}\n`)
        .join('')
    );
  }
  return `Scribe Version: ${c.scribeVersion}\nMover Image: ${c.moverImage}\n`;
}
