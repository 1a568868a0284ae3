import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { V1PersistentVolumeClaim } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { specKeys } from '../../model/src/index.ts';
import {
  createCertificateAuthority,
  issueServingCertificate,
} from '../../webhook/src/tls-authority.ts';
import { type FakeApi, fakeApi } from './support/fake-api.ts';
import { fixtureText } from './support/fixtures.ts';
import { scribeShaped } from './support/scribe-shaped.ts';

// The real executable, as a developer runs it outside a cluster:
// scribe-webhook --kubeconfig FILE --port N --tls-cert FILE --tls-key FILE
const ROOT = join(import.meta.dirname, '../..');
const BIN = join(ROOT, 'webhook/bin/scribe-webhook.ts');

let dir: string;
let api: FakeApi;
let child: ChildProcess;
let stderr = '';
let port = 0;
const ca = createCertificateAuthority('test-ca', { validityDays: 2 });
const serving = issueServingCertificate(ca, {
  dnsNames: ['localhost'],
  ipAddresses: ['127.0.0.1'],
  validityDays: 1,
});

function call(
  method: string,
  path: string,
  body?: string | Buffer,
  headers: Record<string, string> = { 'content-type': 'application/json' },
): Promise<{ status: number; body: string; type: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        path,
        method,
        ca: ca.certPem,
        servername: 'localhost',
        headers,
        agent: false,
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (text += c));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            body: text,
            type: String(res.headers['content-type']),
          }),
        );
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}
const review = (path: string, body: string | Buffer, headers?: Record<string, string>) =>
  call('POST', `${path}?timeout=5s`, body, headers);

async function until<T>(
  fn: () => Promise<T | undefined> | T | undefined,
  what: string,
  ms = 20_000,
): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; stderr:\n${stderr}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'scribe-webhook-server-'));
  const liveClaim = scribeShaped(
    '0002-validate-PersistentVolumeClaim-CREATE--pvc-create-filesystem-annotated.json',
    {
      extra: { [specKeys.method]: 'live' },
    },
  ).request.object as V1PersistentVolumeClaim;
  api = await fakeApi({ claims: [liveClaim] });
  const kubeconfig = await api.writeKubeconfig(dir);
  await writeFile(join(dir, 'tls.crt'), serving.certPem);
  await writeFile(join(dir, 'tls.key'), serving.keyPem);
  child = spawn(
    process.execPath,
    [
      BIN,
      '--kubeconfig',
      kubeconfig,
      '--port',
      '0',
      '--host',
      '127.0.0.1',
      '--tls-cert',
      join(dir, 'tls.crt'),
      '--tls-key',
      join(dir, 'tls.key'),
      '--max-body-bytes',
      String(4 * 1024 * 1024),
    ],
    { stdio: ['ignore', 'inherit', 'pipe'], env: { ...process.env, SCRIBE_LOG_LEVEL: 'debug' } },
  );
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (c: string) => (stderr += c));
  port = await until(() => {
    const line = stderr.split('\n').find((l) => l.includes('"msg":"listening"'));
    return line ? (JSON.parse(line) as { port: number }).port : undefined;
  }, 'the listening line');
});

afterAll(async () => {
  if (child && child.exitCode === null) {
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
  }
  await api?.close();
  await rm(dir, { recursive: true, force: true });
});

describe('scribe-webhook outside a cluster', () => {
  it('is live at once and ready once the claim cache has listed', async () => {
    expect(await call('GET', '/healthz')).toMatchObject({ status: 200, body: 'ok' });
    await until(
      async () => ((await call('GET', '/readyz')).status === 200 ? true : undefined),
      'readiness',
    );
    expect(api.seen).toContain('GET /version');
    expect(api.seen).toContain('GET /api/v1/persistentvolumeclaims');
    expect(
      api.seen.some(
        (s) => s.startsWith('GET /api/v1/persistentvolumeclaims?') && s.includes('watch=true'),
      ),
    ).toBe(true);
  });

  it('injects the sidecar into a captured pod create, as a regular container on a 1.24 server', async () => {
    const raw = fixtureText('admission/0021-mutate-Pod-CREATE--pod-create-volumemounts.json');
    const res = await review('/mutate/pods', raw);
    expect(res.status).toBe(200);
    expect(res.type).toMatch(/^application\/json/);
    const out = JSON.parse(res.body) as {
      apiVersion: string;
      kind: string;
      response: { uid: string; allowed: boolean; patchType: string; patch: string };
    };
    expect(out.apiVersion).toBe('admission.k8s.io/v1');
    expect(out.kind).toBe('AdmissionReview');
    expect(out.response.uid).toBe('e389e98e-ba7d-40e1-bd62-578a5915b2b4');
    expect(out.response.allowed).toBe(true);
    expect(out.response.patchType).toBe('JSONPatch');
    const patch = JSON.parse(Buffer.from(out.response.patch, 'base64').toString('utf8')) as {
      op: string;
      path: string;
      value: { name?: string; restartPolicy?: string };
    }[];
    expect(patch[0]).toMatchObject({
      op: 'add',
      path: '/spec/containers/-',
      value: { name: 'scribe-live-data' },
    });
    expect(patch[0]!.value.restartPolicy).toBeUndefined();
  });

  it('validates claims: a captured plain claim passes, a bad schedule is denied with the annotation named', async () => {
    const plain = await review(
      '/validate/persistentvolumeclaims',
      fixtureText('admission/0006-validate-PersistentVolumeClaim-CREATE--pvc-create-plain.json'),
    );
    expect(JSON.parse(plain.body).response).toEqual({
      uid: JSON.parse(
        fixtureText('admission/0006-validate-PersistentVolumeClaim-CREATE--pvc-create-plain.json'),
      ).request.uid,
      allowed: true,
    });
    const bad = scribeShaped(
      '0002-validate-PersistentVolumeClaim-CREATE--pvc-create-filesystem-annotated.json',
      {
        extra: { [specKeys.schedule]: 'every hour' },
      },
    );
    const res = await review('/validate/persistentvolumeclaims', JSON.stringify(bad));
    const out = JSON.parse(res.body) as {
      response: { uid: string; allowed: boolean; status: { code: number; message: string } };
    };
    expect(out.response.uid).toBe(bad.request.uid);
    expect(out.response.allowed).toBe(false);
    expect(out.response.status.code).toBe(422);
    expect(out.response.status.message).toContain(
      `metadata.annotations[${specKeys.schedule}]: "every hour" is not a schedule`,
    );
  });

  const raw0006 = () =>
    fixtureText('admission/0006-validate-PersistentVolumeClaim-CREATE--pvc-create-plain.json');
  const bad: [string, () => string | Buffer, RegExp, Record<string, string>?][] = [
    ['truncated JSON', () => raw0006().slice(0, 700), /the request body is not valid JSON/],
    [
      'a wrong apiVersion',
      () => raw0006().replace('admission.k8s.io/v1', 'admission.k8s.io/v1beta1'),
      /apiVersion "admission.k8s.io\/v1beta1" is not supported: this webhook speaks admission.k8s.io\/v1 only/,
    ],
    [
      'a missing request',
      () => JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview' }),
      /request is missing/,
    ],
    [
      'a request without uid',
      () =>
        JSON.stringify({
          apiVersion: 'admission.k8s.io/v1',
          kind: 'AdmissionReview',
          request: { operation: 'CREATE' },
        }),
      /request\.uid must be a non-empty string/,
    ],
    ['a JSON array', () => '[]', /the body must be a JSON object/],
    ['an empty body', () => '', /the request body is empty/],
    ['a huge body', () => Buffer.alloc(5 * 1024 * 1024, 0x20), /over the limit of 4194304 bytes/],
    [
      'a body that is not JSON',
      () => 'hello',
      /Content-Type must be application\/json/,
      { 'content-type': 'text/plain' },
    ],
  ];
  for (const [what, body, message, headers] of bad) {
    it(`answers ${what} with 400 and a clear message, and goes on serving`, async () => {
      for (const path of ['/mutate/pods', '/validate/persistentvolumeclaims']) {
        const res = await review(path, body(), headers);
        expect(res.status).toBe(400);
        const status = JSON.parse(res.body) as {
          kind: string;
          code: number;
          reason: string;
          message: string;
        };
        expect(status).toMatchObject({ kind: 'Status', code: 400, reason: 'BadRequest' });
        expect(status.message).toMatch(message);
      }
      expect((await call('GET', '/healthz')).status).toBe(200);
      expect(child.exitCode).toBeNull();
    });
  }

  it('answers an unknown path with 404', async () => {
    expect((await call('POST', '/mutate', '{}')).status).toBe(404);
  });

  it('counts requests, injections, rejections and bad requests in /metrics', async () => {
    const res = await call('GET', '/metrics');
    expect(res.status).toBe(200);
    expect(res.body).toMatch(
      /^scribe_webhook_requests_total\{webhook="mutate",operation="CREATE",result="patched"\} 1$/m,
    );
    expect(res.body).toMatch(
      /^scribe_webhook_requests_total\{webhook="validate",operation="CREATE",result="denied"\} 1$/m,
    );
    expect(res.body).toMatch(
      /^scribe_webhook_requests_total\{webhook="validate",operation="CREATE",result="allowed"\} 1$/m,
    );
    expect(res.body).toMatch(/^scribe_webhook_injections_total\{mode="container"\} 1$/m);
    expect(res.body).toMatch(/^scribe_webhook_rejections_total\{reason="invalid-spec"\} 1$/m);
    expect(res.body).toMatch(/^scribe_webhook_bad_requests_total\{webhook="mutate"\} 8$/m);
    expect(res.body).toMatch(
      /^scribe_webhook_request_duration_seconds_count\{webhook="mutate",operation="CREATE",result="patched"\} 1$/m,
    );
    expect(res.body).toMatch(/^scribe_webhook_pvc_cache_synced 1$/m);
    expect(res.body).toMatch(/^scribe_webhook_certificate_expiry_timestamp_seconds \d+/m);
  });

  it('logs JSON lines by identity, with no key, token or object in them', async () => {
    // Lines reach stderr in blocks, at most half a second late.
    await until(
      () => (stderr.includes('"msg":"injected"') ? true : undefined),
      'the injected line',
    );
    const lines = stderr.trim().split('\n');
    for (const l of lines) expect(() => JSON.parse(l)).not.toThrow();
    expect(stderr).not.toContain('PRIVATE KEY');
    expect(stderr).not.toContain(serving.keyPem.split('\n')[1]!);
    expect(stderr).not.toContain('fake-token');
    expect(stderr).not.toContain('managedFields');
    const injected = lines
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .find((l) => l.msg === 'injected');
    expect(injected).toMatchObject({
      webhook: 'mutate',
      uid: 'e389e98e-ba7d-40e1-bd62-578a5915b2b4',
      kind: 'Pod',
      namespace: 'scribe-fixtures',
      name: 'app-fs',
      injected: 1,
    });
  });

  it('stops cleanly on SIGTERM', async () => {
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
  });
});
