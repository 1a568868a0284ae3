import { EventEmitter } from 'node:events';
import { X509Certificate } from 'node:crypto';
import {
  type CertificateAuthority,
  createCertificateAuthority,
  issueServingCertificate,
} from './tls-authority.ts';
import { renewalTime } from './tls-renewal.ts';
import type { CertificateSource, TlsMaterial } from './tls-source.ts';

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
    const cert = new X509Certificate(this.#material.certPem);
    const at = renewalTime({
      notBefore: new Date(cert.validFrom),
      notAfter: new Date(cert.validTo),
    }).getTime();
    const delay = Math.max(0, at - now);
    // setTimeout caps at ~24.8 days: wake up and look again.
    this.#timer = setTimeout(
      () => (delay > MAX_TIMER_MS ? this.#schedule() : this.rotate()),
      Math.min(delay, MAX_TIMER_MS),
    );
    this.#timer.unref();
  }
}
