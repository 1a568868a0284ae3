import { EventEmitter } from 'node:events';
import { readFile, stat } from 'node:fs/promises';
import type { Server as HttpsServer } from 'node:https';
import { X509Certificate } from 'node:crypto';
import { createSecureContext } from 'node:tls';

// One owner of the serving certificate (as cert-manager's dynamic authority):
// everything else asks it for the current material and hears when it changes.

export interface TlsMaterial {
  keyPem: string;
  certPem: string;
  // What the webhook configurations' caBundle must trust (PEM).
  caBundlePem: string;
  notAfter: Date;
}

export interface CertificateSource {
  current(): TlsMaterial;
  on(event: 'rotated', listener: (m: TlsMaterial) => void): this;
  on(event: 'error', listener: (err: Error) => void): this;
  stop(): void;
}

export interface FileSourceOptions {
  certFile: string;
  keyFile: string;
  caFile?: string;
  pollMs?: number;
}

async function readMaterial(opts: FileSourceOptions): Promise<TlsMaterial> {
  const [certPem, keyPem, caPem] = await Promise.all([
    readFile(opts.certFile, 'utf8'),
    readFile(opts.keyFile, 'utf8'),
    opts.caFile ? readFile(opts.caFile, 'utf8') : Promise.resolve(''),
  ]);
  // A half-written pair (cert renewed, key not yet) must not replace a good one.
  createSecureContext({ cert: certPem, key: keyPem });
  return {
    certPem,
    keyPem,
    caBundlePem: caPem,
    notAfter: new Date(new X509Certificate(certPem).validTo),
  };
}

// Certificate files written by someone else: cert-manager's Secret mounted as a
// volume, or `--tls-cert/--tls-key` in development. Reloaded when they change.
export class FileSource extends EventEmitter implements CertificateSource {
  #material: TlsMaterial;
  #timer: NodeJS.Timeout | undefined;
  #opts: FileSourceOptions;
  #stamp: string;

  private constructor(opts: FileSourceOptions, material: TlsMaterial, stamp: string) {
    super();
    this.#opts = opts;
    this.#material = material;
    this.#stamp = stamp;
    this.#timer = setInterval(() => void this.#poll(), opts.pollMs ?? 10_000);
    this.#timer.unref();
  }

  static async open(opts: FileSourceOptions): Promise<FileSource> {
    let material: TlsMaterial;
    try {
      material = await readMaterial(opts);
    } catch (err) {
      throw new Error(
        `cannot load the TLS certificate ${opts.certFile} and key ${opts.keyFile}: ${(err as Error).message}`,
        { cause: err },
      );
    }
    return new FileSource(opts, material, await FileSource.#stampOf(opts));
  }

  static async #stampOf(opts: FileSourceOptions): Promise<string> {
    // Kubelet swaps a Secret volume's files by a symlink rename: stat follows it.
    const files = [opts.certFile, opts.keyFile, ...(opts.caFile ? [opts.caFile] : [])];
    const stats = await Promise.all(files.map((f) => stat(f)));
    return stats.map((s) => `${s.ino}:${s.mtimeMs}:${s.size}`).join('|');
  }

  current(): TlsMaterial {
    return this.#material;
  }

  async reload(): Promise<boolean> {
    const stamp = await FileSource.#stampOf(this.#opts);
    if (stamp === this.#stamp) return false;
    const material = await readMaterial(this.#opts);
    this.#stamp = stamp;
    this.#material = material;
    this.emit('rotated', material);
    return true;
  }

  async #poll(): Promise<void> {
    try {
      await this.reload();
    } catch (err) {
      // Keep serving the old pair; the next poll tries again.
      if (this.listenerCount('error') > 0) this.emit('error', err as Error);
    }
  }

  stop(): void {
    clearInterval(this.#timer);
  }
}

// New handshakes get the new certificate; open connections keep theirs.
export function serveRotations(server: HttpsServer, source: CertificateSource): void {
  source.on('rotated', (m) => server.setSecureContext({ key: m.keyPem, cert: m.certPem }));
}
