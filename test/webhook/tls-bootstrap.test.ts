import { type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { V1Secret } from '@kubernetes/client-node';
import { KubeClient } from '../../webhook/src/kube-client.ts';
import jsonpatch from 'fast-json-patch';
import { afterEach, describe, expect, it } from 'vitest';
import { specPrefix, statusPrefix } from '../../model/src/index.ts';
import { capabilitiesOf } from '../../webhook/src/server-capabilities.ts';
import { createCertificateAuthority } from '../../webhook/src/tls-authority.ts';
import { caBundlePatch, injectCaBundle, loadOrCreateCa } from '../../webhook/src/tls-bootstrap.ts';
import {
  mutatingWebhookConfiguration,
  validatingWebhookConfiguration,
} from '../../webhook/src/webhook-configurations.ts';
import { fixture } from './support/fixtures.ts';

// An API server for Secrets and webhook configurations that answers the way
// kube-apiserver does (404 and 409 Status bodies from the captured errors),
// and applies JSON Patches for real, test operations included.
const notFound = fixture<{ response: { status: number; rawBody: string } }>(
  'errors/404-get-missing-pvc.json',
);
const exists = fixture<{ response: { status: number; rawBody: string } }>(
  'errors/409-already-exists.json',
);

interface Store {
  secrets: Map<string, V1Secret>;
  configs: Map<string, object>;
  seen: string[];
  raceSecret?: V1Secret; // created by "another replica" between our GET and POST
}

let server: Server | undefined;
afterEach(async () => {
  await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
  server?.closeAllConnections();
  server = undefined;
});

async function api(store: Store): Promise<KubeClient> {
  server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => (body += c));
    req.on('end', () => {
      const path = new URL(req.url ?? '/', 'http://x').pathname;
      store.seen.push(`${req.method} ${path} ${req.headers['content-type'] ?? ''}`.trim());
      const send = (code: number, text: string) => {
        res.writeHead(code, { 'content-type': 'application/json' });
        res.end(text);
      };
      const secret = /^\/api\/v1\/namespaces\/([^/]+)\/secrets(?:\/([^/]+))?$/.exec(path);
      if (secret) {
        const [, ns, name] = secret;
        if (req.method === 'GET') {
          const s = store.secrets.get(`${ns}/${name}`);
          return s ? send(200, JSON.stringify(s)) : send(404, notFound.response.rawBody);
        }
        if (req.method === 'POST') {
          const s = JSON.parse(body) as V1Secret;
          if (store.raceSecret) {
            store.secrets.set(`${ns}/${s.metadata!.name}`, store.raceSecret);
            store.raceSecret = undefined;
          }
          if (store.secrets.has(`${ns}/${s.metadata!.name}`))
            return send(409, exists.response.rawBody);
          store.secrets.set(`${ns}/${s.metadata!.name}`, s);
          return send(201, JSON.stringify(s));
        }
      }
      const config =
        /^\/apis\/admissionregistration\.k8s\.io\/v1\/(mutating|validating)webhookconfigurations\/([^/]+)$/.exec(
          path,
        );
      if (config) {
        const key = `${config[1]}/${config[2]}`;
        const current = store.configs.get(key);
        if (!current) return send(404, notFound.response.rawBody);
        if (req.method === 'GET') return send(200, JSON.stringify(current));
        if (req.method === 'PATCH') {
          if (req.headers['content-type'] !== 'application/json-patch+json') return send(415, '{}');
          try {
            const next = jsonpatch.applyPatch(
              structuredClone(current),
              JSON.parse(body) as jsonpatch.Operation[],
              true,
              false,
            ).newDocument;
            store.configs.set(key, next);
            return send(200, JSON.stringify(next));
          } catch (err) {
            return send(
              422,
              JSON.stringify({ kind: 'Status', code: 422, message: (err as Error).message }),
            );
          }
        }
      }
      send(404, notFound.response.rawBody);
    });
  });
  await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
  return new KubeClient({
    server: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    token: () => 't',
  });
}

const configOpts = {
  capabilities: capabilitiesOf({ major: '1', minor: '30' }),
  namespace: 'scribe-system',
  service: 'scribe-webhook',
  annotationPrefixes: [specPrefix, statusPrefix],
};

describe('in-cluster TLS bootstrap', () => {
  it('makes the CA Secret once; the next replica reads the same CA', async () => {
    const store: Store = { secrets: new Map(), configs: new Map(), seen: [] };
    const kc = await api(store);
    const first = await loadOrCreateCa(kc, 'scribe-system', 'scribe-webhook-ca');
    expect(first.created).toBe(true);
    const stored = store.secrets.get('scribe-system/scribe-webhook-ca')!;
    expect(stored.type).toBe('Opaque');
    expect(Buffer.from(stored.data!['ca.crt']!, 'base64').toString()).toBe(first.ca.certPem);
    const second = await loadOrCreateCa(kc, 'scribe-system', 'scribe-webhook-ca');
    expect(second.created).toBe(false);
    expect(second.ca.certPem).toBe(first.ca.certPem);
    expect(second.ca.keyPem).toBe(first.ca.keyPem);
    expect(second.ca.notAfter.getTime()).toBe(first.ca.notAfter.getTime());
  });

  it('when another replica creates it between our read and our create (409), uses theirs', async () => {
    const theirs = createCertificateAuthority('scribe-webhook-ca', { validityDays: 30 });
    const raceSecret: V1Secret = {
      metadata: { name: 'scribe-webhook-ca', namespace: 'scribe-system' },
      data: {
        'ca.crt': Buffer.from(theirs.certPem).toString('base64'),
        'ca.key': Buffer.from(theirs.keyPem).toString('base64'),
      },
    };
    const store: Store = { secrets: new Map(), configs: new Map(), seen: [], raceSecret };
    const kc = await api(store);
    const got = await loadOrCreateCa(kc, 'scribe-system', 'scribe-webhook-ca');
    expect(got.created).toBe(false);
    expect(got.ca.certPem).toBe(theirs.certPem);
    expect(store.seen.filter((s) => s.includes('/secrets'))).toEqual([
      'GET /api/v1/namespaces/scribe-system/secrets/scribe-webhook-ca',
      'POST /api/v1/namespaces/scribe-system/secrets application/json',
      'GET /api/v1/namespaces/scribe-system/secrets/scribe-webhook-ca',
    ]);
  });

  it('says which Secret is unusable', async () => {
    const store: Store = {
      secrets: new Map([
        ['scribe-system/scribe-webhook-ca', { metadata: { name: 'scribe-webhook-ca' }, data: {} }],
      ]),
      configs: new Map(),
      seen: [],
    };
    const kc = await api(store);
    await expect(loadOrCreateCa(kc, 'scribe-system', 'scribe-webhook-ca')).rejects.toThrow(
      'Secret scribe-system/scribe-webhook-ca has no ca.crt and ca.key',
    );
  });

  it('sets caBundle on both configurations with guarded JSON Patches, and leaves them alone when current', async () => {
    const store: Store = {
      secrets: new Map(),
      configs: new Map<string, object>([
        ['mutating/scribe-webhook', mutatingWebhookConfiguration(configOpts)],
        ['validating/scribe-webhook', validatingWebhookConfiguration(configOpts)],
      ]),
      seen: [],
    };
    const kc = await api(store);
    const ca = createCertificateAuthority('scribe-webhook-ca', { validityDays: 30 });
    expect(await injectCaBundle(kc, 'scribe-webhook', ca.certPem)).toBe(2);
    const expected = Buffer.from(ca.certPem).toString('base64');
    for (const key of ['mutating/scribe-webhook', 'validating/scribe-webhook']) {
      const c = store.configs.get(key) as {
        webhooks: { clientConfig: { caBundle?: string; service?: object } }[];
      };
      expect(c.webhooks[0]!.clientConfig.caBundle).toBe(expected);
      expect(c.webhooks[0]!.clientConfig.service).toBeDefined();
    }
    expect(store.seen.filter((s) => s.startsWith('PATCH'))).toHaveLength(2);
    expect(await injectCaBundle(kc, 'scribe-webhook', ca.certPem)).toBe(0);
    expect(store.seen.filter((s) => s.startsWith('PATCH'))).toHaveLength(2);
  });

  it("guards each caBundle with a test of the webhook's name, so a reordered list cannot be mis-patched", () => {
    const patch = caBundlePatch(
      [{ name: 'a' }, { name: 'b', clientConfig: { caBundle: 'same' } }],
      'same',
    );
    expect(patch).toEqual([
      { op: 'test', path: '/webhooks/0/name', value: 'a' },
      { op: 'add', path: '/webhooks/0/clientConfig/caBundle', value: 'same' },
    ]);
    const doc = {
      webhooks: [
        { name: 'b', clientConfig: {} },
        { name: 'a', clientConfig: {} },
      ],
    };
    expect(() => jsonpatch.applyPatch(doc, patch as jsonpatch.Operation[], true, false)).toThrow(
      /Test operation failed/,
    );
  });
});
