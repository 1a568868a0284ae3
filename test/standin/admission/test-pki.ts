// A throwaway CA and serving certificates for webhook servers in tests,
// signed with node-forge (keys from Node's crypto: forge's pure-JS RSA key
// generation is slow). Certificates carry SANs only where asked; the CA is
// what goes into a webhook configuration's caBundle.
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import forge from 'node-forge';

export interface Pem {
  cert: string;
  key: string;
}

export interface TestCa extends Pem {
  /** base64 of the CA certificate PEM, as clientConfig.caBundle wants it. */
  caBundle: string;
  /** A serving certificate for these names (IPs and DNS names), signed by this CA. */
  issue(names: string[], opts?: { commonName?: string; notAfter?: Date }): Pem;
}

function keyPair(): {
  forgeKey: forge.pki.rsa.PrivateKey;
  pub: forge.pki.rsa.PublicKey;
  pem: string;
} {
  const { privateKey } = generateKeyPairSync('rsa', {
    modulusLength: 2048,
    publicKeyEncoding: { type: 'pkcs1', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs1', format: 'pem' },
  });
  const forgeKey = forge.pki.privateKeyFromPem(privateKey) as forge.pki.rsa.PrivateKey;
  const pub = forge.pki.setRsaPublicKey(forgeKey.n, forgeKey.e);
  return { forgeKey, pub, pem: privateKey };
}

function serial(): string {
  const b = randomBytes(16);
  b[0] = (b[0] as number) & 0x7f; // positive
  return b.toString('hex');
}

export function createTestCa(commonName = 'scribe-test-ca'): TestCa {
  const ca = keyPair();
  const caCert = forge.pki.createCertificate();
  caCert.publicKey = ca.pub;
  caCert.serialNumber = serial();
  caCert.validity.notBefore = new Date(Date.now() - 60_000);
  caCert.validity.notAfter = new Date(Date.now() + 24 * 3600_000);
  const subject = [{ name: 'commonName', value: commonName }];
  caCert.setSubject(subject);
  caCert.setIssuer(subject);
  caCert.setExtensions([
    { name: 'basicConstraints', cA: true, critical: true },
    { name: 'keyUsage', keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true },
    { name: 'subjectKeyIdentifier' },
  ]);
  caCert.sign(ca.forgeKey, forge.md.sha256.create());
  const caPem = forge.pki.certificateToPem(caCert);

  return {
    cert: caPem,
    key: ca.pem,
    caBundle: Buffer.from(caPem).toString('base64'),
    issue(names, opts = {}) {
      const leaf = keyPair();
      const c = forge.pki.createCertificate();
      c.publicKey = leaf.pub;
      c.serialNumber = serial();
      c.validity.notBefore = new Date(Date.now() - 60_000);
      c.validity.notAfter = opts.notAfter ?? new Date(Date.now() + 24 * 3600_000);
      c.setSubject([{ name: 'commonName', value: opts.commonName ?? names[0] ?? 'webhook' }]);
      c.setIssuer(caCert.subject.attributes);
      const altNames = names.map((n) =>
        /^[\d.]+$|:/.test(n) ? { type: 7, ip: n } : { type: 2, value: n },
      );
      const extensions: object[] = [
        { name: 'basicConstraints', cA: false },
        { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
        { name: 'extKeyUsage', serverAuth: true },
      ];
      if (altNames.length > 0) extensions.push({ name: 'subjectAltName', altNames });
      c.setExtensions(extensions);
      c.sign(ca.forgeKey, forge.md.sha256.create());
      return { cert: forge.pki.certificateToPem(c), key: leaf.pem };
    },
  };
}
