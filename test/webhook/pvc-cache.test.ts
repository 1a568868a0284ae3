import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { V1PersistentVolumeClaim } from '@kubernetes/client-node';
import { KubeClient } from '../../webhook/src/kube-client.ts';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { PvcWatchCache } from '../../webhook/src/pvc-cache.ts';
import { fixture } from './support/fixtures.ts';

interface Stream {
  response: { rawBody: string; events: { object: V1PersistentVolumeClaim }[] };
}
const stream = fixture<Stream>('client/watch-pvc-stream.curl.json');
const expired = fixture<{ response: { rawBody: string } }>('errors/410-watch-too-old-rv-1.json');
const NS = 'scribe-fixtures';

// data-block as it was at the list before the stream (RV 336): the stream's
// first event is its next version.
function listedAt336(): V1PersistentVolumeClaim[] {
  const block = structuredClone(stream.response.events[0]!.object);
  block.metadata!.resourceVersion = '336';
  delete block.metadata!.labels!.watched;
  const fs = structuredClone(block);
  fs.metadata!.name = 'data-fs';
  fs.metadata!.uid = '0f7c1c36-0000-4000-8000-000000000001';
  fs.metadata!.resourceVersion = '300';
  fs.spec!.volumeMode = 'Filesystem';
  return [block, fs];
}

function list(items: V1PersistentVolumeClaim[], rv: string): string {
  return JSON.stringify({
    kind: 'PersistentVolumeClaimList',
    apiVersion: 'v1',
    metadata: { resourceVersion: rv },
    items,
  });
}

// An API server that speaks list+watch the way the captured one did: each
// request is answered by the next scripted step.
type Step = (req: IncomingMessage, res: ServerResponse) => void;
let server: Server | undefined;
const held: ServerResponse[] = [];
afterEach(async () => {
  for (const r of held.splice(0)) r.destroy();
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  server?.closeAllConnections();
  server = undefined;
});

async function apiServer(steps: Step[]): Promise<{ kc: KubeClient; seen: string[] }> {
  const seen: string[] = [];
  server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const q = url.searchParams;
    seen.push(
      `${url.pathname}${q.get('watch') ? ` watch rv=${q.get('resourceVersion')}` : ' list'}`,
    );
    expect(req.headers.authorization).toBe('Bearer test-token');
    const step = steps.shift();
    if (!step) {
      res.writeHead(200, { 'content-type': 'application/json' });
      held.push(res);
      return;
    }
    step(req, res);
  });
  await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  const kc = new KubeClient({ server: `http://127.0.0.1:${port}`, token: () => 'test-token' });
  return { kc, seen };
}

const json =
  (code: number, body: string): Step =>
  (_req, res) => {
    res.writeHead(code, { 'content-type': 'application/json' });
    res.end(body);
  };

async function until(cond: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const log = pino({ level: 'silent' });

describe('the claim watch cache', () => {
  it('lists, follows the captured watch stream, relists after a 410 and drops what vanished', async () => {
    const after410 = listedAt336().filter((p) => p.metadata!.name === 'data-fs');
    after410[0]!.metadata!.annotations = { changed: 'while away' };
    after410[0]!.metadata!.resourceVersion = '400';
    const { kc, seen } = await apiServer([
      json(200, list(listedAt336(), '336')),
      json(200, stream.response.rawBody),
      json(200, expired.response.rawBody),
      json(200, list(after410, '400')),
    ]);
    const synced: boolean[] = [];
    const cache = new PvcWatchCache(kc, { log, namespace: NS, onSynced: (s) => synced.push(s) });
    expect(cache.synced).toBe(false);
    await cache.start();
    try {
      await until(() => seen.length >= 5, 'the relist and the third watch');
      expect(seen).toEqual([
        `/api/v1/namespaces/${NS}/persistentvolumeclaims list`,
        `/api/v1/namespaces/${NS}/persistentvolumeclaims watch rv=336`,
        `/api/v1/namespaces/${NS}/persistentvolumeclaims watch rv=345`,
        `/api/v1/namespaces/${NS}/persistentvolumeclaims list`,
        `/api/v1/namespaces/${NS}/persistentvolumeclaims watch rv=400`,
      ]);
      expect(cache.synced).toBe(true);
      expect(synced).toEqual([true, true]);
      // data-block vanished from the second list; "watched" was deleted in the stream.
      expect(cache.get(NS, 'data-block')).toBeUndefined();
      expect(cache.get(NS, 'watched')).toBeUndefined();
      expect(cache.get(NS, 'data-fs')?.metadata?.annotations).toEqual({ changed: 'while away' });
    } finally {
      await cache.stop();
    }
  });

  it('applies the stream: a modified claim shows its new labels, a created one appears, none keeps managedFields', async () => {
    // The stream without its DELETED event, then the watch stays open.
    const lines = stream.response.rawBody
      .split('\n')
      .filter((l) => l && !l.startsWith('{"type":"DELETED"'));
    const { kc } = await apiServer([
      json(200, list(listedAt336(), '336')),
      (_req, res) => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.write(`${lines.join('\n')}\n`);
        held.push(res);
      },
    ]);
    const cache = new PvcWatchCache(kc, { log, namespace: NS });
    await cache.start();
    try {
      await until(() => cache.get(NS, 'watched') !== undefined, 'the ADDED claim');
      expect(cache.get(NS, 'data-block')?.metadata?.labels).toEqual({
        tier: 'silver',
        watched: 'true',
      });
      expect(cache.get(NS, 'data-block')?.spec?.volumeMode).toBe('Block');
      for (const pvc of cache.list(NS)) expect(pvc.metadata?.managedFields).toBeUndefined();
      expect(
        cache
          .list(NS)
          .map((p) => p.metadata?.name)
          .sort(),
      ).toEqual(['data-block', 'data-fs', 'watched']);
    } finally {
      await cache.stop();
    }
  });

  it('is not synced while the server refuses the list, retries with backoff, then serves', async () => {
    const forbidden = JSON.stringify({
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      reason: 'Forbidden',
      code: 403,
      message:
        'persistentvolumeclaims is forbidden: User "system:serviceaccount:scribe-system:scribe-webhook" cannot list resource "persistentvolumeclaims"',
    });
    const { kc, seen } = await apiServer([
      json(403, forbidden),
      json(500, '{"kind":"Status","apiVersion":"v1","status":"Failure","code":500}'),
      json(200, list(listedAt336(), '336')),
    ]);
    const cache = new PvcWatchCache(kc, {
      log,
      namespace: NS,
      backoffBaseMs: 20,
      backoffCapMs: 50,
    });
    await cache.start();
    try {
      expect(cache.synced).toBe(false);
      await until(() => cache.synced, 'a successful list');
      expect(seen.filter((s) => s.endsWith(' list'))).toHaveLength(3);
      expect(cache.get(NS, 'data-fs')?.spec?.volumeMode).toBe('Filesystem');
    } finally {
      await cache.stop();
    }
  });
});
