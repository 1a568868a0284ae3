// A claim the replicator cannot act on: the API server's own words reach the
// claim's users as one Warning Event per distinct failure (not one per pass),
// and the log line carries the same message, not client-node's dump of the
// response headers.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { renderSpec } from '../../model/src/index.ts';
import { apiErrorMessage, isStaleWrite } from '../../replicator/src/kube.ts';
import { reconcileAll } from '../../replicator/src/run.ts';
import { passOptions, recordingKube } from '../manifests/support/recording-kube.ts';
import { kubeFixturesDir } from '../support/fixtures.ts';

/** An error the API server sent, as client-node raises it: the body as its JSON text. */
async function apiError(fixture: string): Promise<k8s.ApiException<string>> {
  const f = JSON.parse(await readFile(join(kubeFixturesDir, 'errors', fixture), 'utf8')) as {
    response: { status: number; rawBody: string; headers: Record<string, string> };
  };
  return new k8s.ApiException(
    f.response.status,
    'Unsuccessful HTTP Request',
    f.response.rawBody,
    f.response.headers,
  );
}
const invalid = () => apiError('422-invalid-annotation-key.json');

/** The in-memory API holding one destination claim, "backup", bound. */
function withDestinationClaim(uid: string) {
  const api = recordingKube();
  api.put({
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    metadata: {
      name: 'backup',
      namespace: 'app',
      uid,
      annotations: renderSpec({
        role: 'destination',
        source: { context: 'prod', namespace: 'app', name: 'data' },
        secret: 'scribe-backup',
        snapshotsToKeep: 2,
        serviceType: 'ClusterIP',
      }),
    },
    spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } },
    status: { phase: 'Bound' },
  } as never);
  return api;
}

describe('reconcile failures', () => {
  it('takes the message from the Status the API server sent', async () => {
    const err = await invalid();
    expect(err.message).toContain('Headers:');
    expect(apiErrorMessage(err)).toBe(JSON.parse(err.body).message);
    expect(apiErrorMessage(err)).toMatch(/^PersistentVolumeClaim "bad-ann" is invalid: /);
    expect(apiErrorMessage(new k8s.ApiException(502, 'Bad Gateway', 'upstream down', {}))).toBe(
      '502: upstream down',
    );
    expect(apiErrorMessage(new Error('socket hang up'))).toBe('socket hang up');
  });

  it('tells the claim once per distinct failure, and again after it recovered', async () => {
    const api = withDestinationClaim('u1');
    let failWith: Error | undefined = await invalid();
    const create = api.kube.create;
    api.kube.create = async (obj) => {
      if (obj.kind === 'Service' && failWith) throw failWith;
      return create(obj);
    };
    const lines: string[] = [];
    const o = passOptions(api.kube, {
      log: pino({ level: 'error' }, { write: (l: string) => void lines.push(l) }),
    });
    const warnings = () =>
      [...api.objects.values()]
        .filter((x) => x.kind === 'Event')
        .map((e) => e as unknown as k8s.CoreV1Event)
        .map((e) => `${e.type} ${e.reason} ${e.involvedObject.name}: ${e.message}`);

    for (let i = 0; i < 3; i++) await reconcileAll(o);
    const said = apiErrorMessage(failWith);
    expect(warnings()).toEqual([
      `Warning ReconcileFailed backup: Scribe could not act on this claim and retries every pass: ${said}`,
    ]);
    expect(lines).toHaveLength(3);
    for (const l of lines) {
      expect(JSON.parse(l)).toMatchObject({ pvc: 'backup', err: said });
      expect(l).not.toContain('Headers');
    }

    failWith = new Error('connect ECONNREFUSED 10.96.0.1:443');
    await reconcileAll(o);
    expect(warnings()).toHaveLength(2);
    expect(warnings()[1]).toMatch(/ECONNREFUSED/);

    failWith = undefined;
    await reconcileAll(o);
    expect([...api.objects.values()].some((x) => x.kind === 'Service')).toBe(true);
    expect(warnings()).toHaveLength(2);

    // A failure after a recovery is news again.
    failWith = new Error('connect ECONNREFUSED 10.96.0.1:443');
    api.objects.forEach((v, k) => v.kind === 'Service' && api.objects.delete(k));
    await reconcileAll(o);
    expect(warnings()).toHaveLength(3);
  });

  it('takes a claim changed during the pass (409 Conflict) as a retry, and tells only one that keeps conflicting', async () => {
    const stale = await apiError('409-conflict-stale-resourceversion.json');
    expect(isStaleWrite(stale)).toBe(true);
    expect(isStaleWrite(await apiError('409-already-exists.json'))).toBe(false);
    expect(isStaleWrite(await invalid())).toBe(false);

    const api = withDestinationClaim('u2');
    // The claim's writes (its finalizer first) meet a newer version.
    let conflicting = 1;
    const patch = api.kube.mergePatch.bind(api.kube);
    api.kube.mergePatch = async (obj, p) => {
      if (obj.kind === 'PersistentVolumeClaim' && conflicting-- > 0) throw stale;
      return patch(obj, p);
    };
    const lines: Record<string, unknown>[] = [];
    const o = passOptions(api.kube, {
      log: pino({ level: 'info' }, { write: (l: string) => void lines.push(JSON.parse(l)) }),
    });
    const warnings = () => [...api.objects.values()].filter((x) => x.kind === 'Event');

    await reconcileAll(o);
    expect(warnings()).toEqual([]);
    expect(lines.filter((l) => l.level === 50)).toEqual([]);
    expect(lines.some((l) => l.msg === 'claim changed during the pass; next pass retries')).toBe(
      true,
    );
    await reconcileAll(o); // the next pass gets through
    expect([...api.objects.values()].some((x) => x.kind === 'Service')).toBe(true);

    // A claim that conflicts pass after pass is told, on the third. (Its
    // finalizer gone, every pass writes it again.)
    const claim = [...api.objects.values()].find((x) => x.kind === 'PersistentVolumeClaim')!;
    delete claim.metadata!.finalizers;
    conflicting = 3;
    for (let i = 0; i < 2; i++) await reconcileAll(o);
    expect(warnings()).toEqual([]);
    await reconcileAll(o);
    expect(warnings()).toHaveLength(1);
    expect(lines.filter((l) => l.level === 50)).toHaveLength(1);
  });
});
