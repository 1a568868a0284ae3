import { EventEmitter } from 'node:events';
import { readFile, stat } from 'node:fs/promises';
import type { Server as HttpsServer } from 'node:https';
import { createSecureContext } from 'node:tls';
import {
  type CertificateAuthority,
  certificateValidity,
  createCertificateAuthority,
  issueServingCertificate,
  renewalTime,
} from './tls-authority.ts';

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

export interface SelfSignedOptions {
  dnsNames: string[];
  ipAddresses?: string[];
  // A CA shared by the replicas (kept in a Secret); one is made when absent.
  ca?: CertificateAuthority;
  caValidityDays?: number;
  servingValidityDays?: number;
  now?: () => Date;
}

const MAX_TIMER_MS = 2 ** 31 - 1;

// Serving certificates signed by the webhook's own CA, renewed at two thirds of
// their lifetime, long before they expire.
export class SelfSignedSource extends EventEmitter implements CertificateSource {
  readonly ca: CertificateAuthority;
  #material: TlsMaterial;
  #timer: NodeJS.Timeout | undefined;
  #opts: SelfSignedOptions;
  #stopped = false;

  constructor(opts: SelfSignedOptions) {
    super();
    this.#opts = opts;
    const now = (opts.now ?? (() => new Date()))();
    this.ca =
      opts.ca ??
      createCertificateAuthority('scribe-webhook-ca', {
        now,
        validityDays: opts.caValidityDays ?? 3650,
      });
    this.#material = this.#issue();
    this.#schedule();
  }

  current(): TlsMaterial {
    return this.#material;
  }

  // Issue a fresh serving certificate now (also what the timer does).
  rotate(): TlsMaterial {
    this.#material = this.#issue();
    this.emit('rotated', this.#material);
    this.#schedule();
    return this.#material;
  }

  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
  }

  #issue(): TlsMaterial {
    const now = (this.#opts.now ?? (() => new Date()))();
    const serving = issueServingCertificate(this.ca, {
      now,
      dnsNames: this.#opts.dnsNames,
      ipAddresses: this.#opts.ipAddresses,
      validityDays: this.#opts.servingValidityDays ?? 30,
    });
    return {
      keyPem: serving.keyPem,
      certPem: serving.certPem,
      caBundlePem: this.ca.certPem,
      notAfter: serving.notAfter,
    };
  }

  #schedule(): void {
    clearTimeout(this.#timer);
    if (this.#stopped) return;
    const now = (this.#opts.now ?? (() => new Date()))().getTime();
    const at = renewalTime(certificateValidity(this.#material.certPem)).getTime();
    const delay = Math.max(0, at - now);
    // setTimeout caps at ~24.8 days: wake up and look again.
    this.#timer = setTimeout(
      () => (delay > MAX_TIMER_MS ? this.#schedule() : this.rotate()),
      Math.min(delay, MAX_TIMER_MS),
    );
    this.#timer.unref();
  }
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
  return { certPem, keyPem, caBundlePem: caPem, notAfter: certificateValidity(certPem).notAfter };
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
