import { X509Certificate } from 'node:crypto';
import { mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import express from 'express';
import { afterAll, describe, expect, it } from 'vitest';
import { listenTls } from '../../webhook/src/http-edge.ts';
import {
  createCertificateAuthority,
  issueServingCertificate,
  randomSerial,
  serviceDnsNames,
} from '../../webhook/src/tls-authority.ts';
import { renewalTime } from '../../webhook/src/tls-renewal.ts';
import { SelfSignedSource } from '../../webhook/src/tls-self-signed.ts';
import { FileSource } from '../../webhook/src/tls-source.ts';

// A real client that trusts only the given CA, as the apiserver does with caBundle.
function get(
  port: number,
  ca: string,
  servername: string,
  agent = false as const,
): Promise<{ status: number; body: string; serial: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port, path: '/', ca, servername, agent, rejectUnauthorized: true },
      (res) => {
        const serial = (res.socket as TLSSocket).getPeerCertificate().serialNumber;
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body, serial }));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

const app = express().get('/', (_req, res) => {
  res.send('hello');
});

describe('the certificate authority', () => {
  const now = new Date('2026-11-26T08:00:00Z');
  const ca = createCertificateAuthority('scribe-webhook-ca', { now, validityDays: 365 });
  const names = serviceDnsNames('scribe-webhook', 'scribe-system');
  const serving = issueServingCertificate(ca, { now, dnsNames: names, validityDays: 30 });

  it('makes a CA that can only sign, and a serving certificate for the Service names only', () => {
    const caCert = new X509Certificate(ca.certPem);
    expect(caCert.ca).toBe(true);
    const cert = new X509Certificate(serving.certPem);
    expect(cert.ca).toBe(false);
    expect(cert.checkIssued(caCert)).toBe(true);
    expect(cert.verify(caCert.publicKey)).toBe(true);
    expect(cert.subjectAltName).toBe(names.map((n) => `DNS:${n}`).join(', '));
    expect(cert.keyUsage).toEqual(['1.3.6.1.5.5.7.3.1']); // serverAuth only
    expect(cert.checkHost('scribe-webhook.scribe-system.svc')).toBe(
      'scribe-webhook.scribe-system.svc',
    );
    expect(cert.checkHost('other.scribe-system.svc')).toBeUndefined();
    expect(cert.subject).toBe('CN=scribe-webhook');
  });

  it('backdates the start against clock skew, and renews at two thirds of the lifetime', () => {
    const cert = new X509Certificate(serving.certPem);
    expect(new Date(cert.validFrom).getTime()).toBe(now.getTime() - 5 * 60_000);
    expect(new Date(cert.validTo).getTime()).toBe(now.getTime() + 30 * 86_400_000);
    const renew = renewalTime(serving).getTime();
    expect(renew).toBeGreaterThan(now.getTime() + 19 * 86_400_000);
    expect(renew).toBeLessThan(now.getTime() + 21 * 86_400_000);
  });

  it('never issues past the CA', () => {
    const short = createCertificateAuthority('short', { now, validityDays: 10 });
    const s = issueServingCertificate(short, { now, dnsNames: ['a'], validityDays: 30 });
    expect(s.notAfter.getTime()).toBe(short.notAfter.getTime());
  });

  it('uses random positive serials', () => {
    const serials = new Set(Array.from({ length: 200 }, () => randomSerial()));
    expect(serials.size).toBe(200);
    for (const s of serials) {
      expect(s).toMatch(/^[0-7][0-9a-f]{31}$/);
      expect(s.startsWith('00')).toBe(false);
    }
    expect(new X509Certificate(serving.certPem).serialNumber).not.toBe(
      new X509Certificate(ca.certPem).serialNumber,
    );
  });
});

describe('serving with rotation', () => {
  const dirs: string[] = [];
  afterAll(async () => {
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });

  it('a client with the CA verifies the server; a rotated certificate serves new connections while an open one goes on', async () => {
    const source = new SelfSignedSource({ dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'] });
    const running = await listenTls(app, source, { port: 0, host: '127.0.0.1' });
    try {
      const ca = source.current().caBundlePem;
      const first = await get(running.port, ca, 'localhost');
      expect(first).toMatchObject({ status: 200, body: 'hello' });

      // A kept-alive connection made before the rotation.
      const { Agent } = await import('node:https');
      const agent = new Agent({ keepAlive: true, maxSockets: 1 });
      const viaAgent = () =>
        new Promise<string>((resolve, reject) => {
          const req = request(
            {
              host: '127.0.0.1',
              port: running.port,
              path: '/',
              ca,
              servername: 'localhost',
              agent,
            },
            (res) => {
              const serial = (res.socket as TLSSocket).getPeerCertificate().serialNumber;
              res.resume();
              res.on('end', () => resolve(serial));
            },
          );
          req.on('error', reject);
          req.end();
        });
      const before = await viaAgent();
      const rotated = new Promise((r) => source.once('rotated', r));
      source.rotate();
      await rotated;
      const after = await get(running.port, ca, 'localhost');
      expect(after.status).toBe(200);
      expect(after.serial).not.toBe(first.serial);
      // The open connection was not dropped: same socket, old certificate.
      expect(await viaAgent()).toBe(before);
      agent.destroy();

      // A client that does not trust this CA is refused.
      const stranger = createCertificateAuthority('stranger', { validityDays: 1 });
      await expect(get(running.port, stranger.certPem, 'localhost')).rejects.toThrow(
        /self[- ]signed|unable to verify|unable to get local issuer/i,
      );
      // Nor does the certificate name another host.
      await expect(get(running.port, ca, 'evil.example')).rejects.toThrow(/altnames|Hostname/i);
    } finally {
      source.stop();
      await running.close();
    }
  });

  it('reloads certificate files when they are replaced (cert-manager, --tls-cert), and keeps the old pair over a broken one', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'scribe-webhook-tls-'));
    dirs.push(dir);
    const ca = createCertificateAuthority('files', { validityDays: 30 });
    const one = issueServingCertificate(ca, { dnsNames: ['localhost'], validityDays: 10 });
    const certFile = join(dir, 'tls.crt');
    const keyFile = join(dir, 'tls.key');
    await writeFile(certFile, one.certPem);
    await writeFile(keyFile, one.keyPem);
    const source = await FileSource.open({ certFile, keyFile, pollMs: 60_000 });
    const errors: Error[] = [];
    source.on('error', (e) => errors.push(e));
    const running = await listenTls(app, source, { port: 0, host: '127.0.0.1' });
    try {
      const a = await get(running.port, ca.certPem, 'localhost');
      expect(a.serial).toBe(new X509Certificate(one.certPem).serialNumber);
      expect(await source.reload()).toBe(false);

      // Swap both files by rename, the way kubelet updates a Secret volume.
      const two = issueServingCertificate(ca, { dnsNames: ['localhost'], validityDays: 10 });
      await writeFile(`${certFile}.new`, two.certPem);
      await writeFile(`${keyFile}.new`, two.keyPem);
      await rename(`${certFile}.new`, certFile);
      await rename(`${keyFile}.new`, keyFile);
      expect(await source.reload()).toBe(true);
      const b = await get(running.port, ca.certPem, 'localhost');
      expect(b.serial).toBe(new X509Certificate(two.certPem).serialNumber);

      // A key that does not match the certificate is refused; the server goes on.
      const three = issueServingCertificate(ca, { dnsNames: ['localhost'], validityDays: 10 });
      await writeFile(certFile, three.certPem);
      await expect(source.reload()).rejects.toThrow(/key values mismatch|mismatch/i);
      const c = await get(running.port, ca.certPem, 'localhost');
      expect(c.serial).toBe(b.serial);
    } finally {
      source.stop();
      await running.close();
    }
  });

  it('says which files it could not load', async () => {
    await expect(
      FileSource.open({ certFile: '/nonexistent/tls.crt', keyFile: '/nonexistent/tls.key' }),
    ).rejects.toThrow(/cannot load the TLS certificate \/nonexistent\/tls.crt and key/);
  });
});
