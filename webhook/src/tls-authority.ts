import { randomBytes } from 'node:crypto';
import forge from 'node-forge';

// The webhook's own certificate authority: a CA and the serving certificates it
// signs. Pure: nothing here touches files, servers or the API.

export interface KeyPairPem {
  certPem: string;
  keyPem: string;
  notBefore: Date;
  notAfter: Date;
}

export interface IssueOptions {
  now?: Date;
  validityDays: number;
  // Clocks across a cluster disagree; a certificate that starts "now" is
  // rejected by an apiserver whose clock is a little behind.
  backdateMinutes?: number;
  keyBits?: number;
}

export interface ServingOptions extends IssueOptions {
  // The Service's DNS names (name, name.ns, name.ns.svc, name.ns.svc.cluster.local).
  dnsNames: string[];
  ipAddresses?: string[];
}

const DEFAULT_BACKDATE_MINUTES = 5;
const DEFAULT_KEY_BITS = 2048;

// RFC 5280: a positive serial of at most 20 octets, unpredictable (CA/B BR 7.1
// asks for 64 bits of randomness). A leading 0x00..0x7f byte keeps it positive.
export function randomSerial(): string {
  const bytes = randomBytes(16);
  bytes[0] = (bytes[0] ?? 0) & 0x7f || 0x01;
  return bytes.toString('hex');
}

// X.509 times have whole seconds; keep the dates we report equal to the certificate's.
const wholeSeconds = (ms: number) => new Date(Math.floor(ms / 1000) * 1000);

function validity(opts: IssueOptions): { notBefore: Date; notAfter: Date } {
  const now = (opts.now ?? new Date()).getTime();
  const backdate = (opts.backdateMinutes ?? DEFAULT_BACKDATE_MINUTES) * 60_000;
  return {
    notBefore: wholeSeconds(now - backdate),
    notAfter: wholeSeconds(now + opts.validityDays * 86_400_000),
  };
}

function keyPair(bits: number): forge.pki.rsa.KeyPair {
  // node-forge hands this to Node's native generateKeyPairSync when present.
  return forge.pki.rsa.generateKeyPair({ bits, e: 0x10001 });
}

export interface CertificateAuthority extends KeyPairPem {
  subjectCommonName: string;
}

export function createCertificateAuthority(
  commonName: string,
  opts: IssueOptions,
): CertificateAuthority {
  const keys = keyPair(opts.keyBits ?? DEFAULT_KEY_BITS);
  const cert = forge.pki.createCertificate();
  cert.publicKey = keys.publicKey;
  cert.serialNumber = randomSerial();
  const { notBefore, notAfter } = validity(opts);
  cert.validity.notBefore = notBefore;
  cert.validity.notAfter = notAfter;
  const subject = [
    { name: 'commonName', value: commonName },
    { name: 'organizationName', value: 'Scribe' },
  ];
  cert.setSubject(subject);
  cert.setIssuer(subject);
  cert.setExtensions([
    { name: 'basicConstraints', cA: true, pathLenConstraint: 0, critical: true },
    { name: 'keyUsage', keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true },
    { name: 'subjectKeyIdentifier' },
  ]);
  cert.sign(keys.privateKey, forge.md.sha256.create());
  return {
    subjectCommonName: commonName,
    certPem: forge.pki.certificateToPem(cert),
    keyPem: forge.pki.privateKeyToPem(keys.privateKey),
    notBefore,
    notAfter,
  };
}

export function issueServingCertificate(
  ca: KeyPairPem,
  opts: ServingOptions,
): KeyPairPem & { chainPem: string } {
  const first = opts.dnsNames[0];
  if (!first) throw new Error('a serving certificate needs at least one DNS name');
  const caCert = forge.pki.certificateFromPem(ca.certPem);
  const caKey = forge.pki.privateKeyFromPem(ca.keyPem);
  const keys = keyPair(opts.keyBits ?? DEFAULT_KEY_BITS);
  const cert = forge.pki.createCertificate();
  cert.publicKey = keys.publicKey;
  cert.serialNumber = randomSerial();
  const { notBefore, notAfter } = validity(opts);
  // Never outlive the issuer: clients reject a chain whose CA has expired.
  cert.validity.notBefore = notBefore;
  cert.validity.notAfter = notAfter > ca.notAfter ? new Date(ca.notAfter) : notAfter;
  // Go's TLS stack (the apiserver) checks only the SAN; the CN is for people.
  cert.setSubject([{ name: 'commonName', value: first }]);
  cert.setIssuer(caCert.subject.attributes);
  const altNames = [
    ...opts.dnsNames.map((value) => ({ type: 2, value })),
    ...(opts.ipAddresses ?? []).map((ip) => ({ type: 7, ip })),
  ];
  cert.setExtensions([
    { name: 'basicConstraints', cA: false, critical: true },
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
    { name: 'extKeyUsage', serverAuth: true },
    { name: 'subjectAltName', altNames },
    { name: 'subjectKeyIdentifier' },
    {
      name: 'authorityKeyIdentifier',
      keyIdentifier: caCert.generateSubjectKeyIdentifier().getBytes(),
    },
  ]);
  cert.sign(caKey, forge.md.sha256.create());
  const certPem = forge.pki.certificateToPem(cert);
  return {
    certPem,
    keyPem: forge.pki.privateKeyToPem(keys.privateKey),
    chainPem: certPem,
    notBefore: cert.validity.notBefore,
    notAfter: cert.validity.notAfter,
  };
}

// The DNS names an apiserver may use for the webhook's Service.
export function serviceDnsNames(service: string, namespace: string): string[] {
  return [
    service,
    `${service}.${namespace}`,
    `${service}.${namespace}.svc`,
    `${service}.${namespace}.svc.cluster.local`,
  ];
}

export function certificateValidity(certPem: string): { notBefore: Date; notAfter: Date } {
  const cert = forge.pki.certificateFromPem(certPem);
  return { notBefore: cert.validity.notBefore, notAfter: cert.validity.notAfter };
}
