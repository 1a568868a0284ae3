// The plugin's HTTP edge against a real HTTPS server: the requests it sends
// (compared with kubectl's captured traffic) and the errors it reports for the
// Status bodies a real kube-apiserver v1.24 sent.
import { execFileSync } from 'node:child_process';
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kubeFixturesDir } from '../support/fixtures.ts';
import { loadConfig } from '../../plugin/src/kubeconfig/load.ts';
import { Cluster } from '../../plugin/src/kube/cluster.ts';
import { KubeRest } from '../../plugin/src/kube/rest.ts';
import { isAlreadyExists, isConflict } from '../../plugin/src/kube/api-errors.ts';
import {
  fixtureAnswer,
  startTlsServer,
  type Answer,
  type TestServer,
} from './support/tls-server.ts';

const fixtures = kubeFixturesDir;
const annotate = JSON.parse(readFileSync(join(fixtures, 'client', 'annotate-pvc.json'), 'utf8'));
const annotateRemove = JSON.parse(
  readFileSync(join(fixtures, 'client', 'annotate-pvc-remove.json'), 'utf8'),
);
const errorFile = (name: string) => join(fixtures, 'errors', `${name}.json`);

// path -> answer; anything else is a 404 Status like the real server's.
const routes = new Map<string, Answer>();
let server: TestServer;

function clusterFor(context: string, user?: Record<string, unknown>, timeoutMs?: number): Cluster {
  const path = server.writeKubeconfig(context, user, 'scribe-fixtures');
  const { resolved } = loadConfig(
    { kubeconfig: path },
    { env: {}, home: server.dir, serviceAccountDir: '/nonexistent' },
  );
  return new Cluster(new KubeRest(resolved, { timeoutMs }));
}

beforeAll(async () => {
  server = await startTlsServer((r) => {
    const a = routes.get(`${r.method} ${r.path}`);
    if (a) return a;
    return {
      status: 404,
      body: JSON.stringify({
        kind: 'Status',
        apiVersion: 'v1',
        status: 'Failure',
        message: 'not routed',
        reason: 'NotFound',
        code: 404,
      }),
    };
  });
});
afterAll(async () => server.close());

describe('annotation changes', () => {
  it('are sent as kubectl annotate sends them: a merge patch with its Content-Type', async () => {
    const want = annotate.exchanges[1];
    routes.set(`PATCH ${want.request.path}`, {
      status: 200,
      body: JSON.stringify(want.response.body),
    });
    const c = clusterFor('c1');
    const pvc = await c.annotatePvc(
      'scribe-fixtures',
      'scratch',
      want.request.body.metadata.annotations,
    );
    c.close();
    expect(pvc.metadata?.annotations).toEqual(want.request.body.metadata.annotations);
    const got = server.requests.at(-1)!;
    expect(got.method).toBe(want.request.method);
    expect(got.path).toBe(want.request.path);
    expect(got.headers['content-type']).toBe(want.request.contentType);
    expect(got.headers.accept).toBe(want.request.accept);
    expect(JSON.parse(got.body)).toEqual(want.request.body);
    expect(got.query.fieldManager).toBe('kubectl-scribe');
    expect(got.headers.authorization).toBe('Bearer test-token');
  });

  it('removes an annotation with null, as kubectl annotate KEY- does', async () => {
    const want = annotateRemove.exchanges.at(-1);
    routes.set(`PATCH ${want.request.path}`, {
      status: 200,
      body: JSON.stringify(want.response.body),
    });
    const c = clusterFor('c1');
    await c.annotatePvc('scribe-fixtures', 'data-fs', {
      'replication.example.io/destination': null,
    });
    c.close();
    const got = server.requests.at(-1)!;
    expect(got.headers['content-type']).toBe('application/merge-patch+json');
    expect(JSON.parse(got.body)).toEqual(want.request.body);
  });
});

describe('credentials', () => {
  it('runs an exec credential plugin through the library and sends its token', async () => {
    const cred = join(server.dir, 'cred.sh');
    writeFileSync(
      cred,
      '#!/bin/sh\necho \'{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"token":"from-exec"}}\'\n',
    );
    chmodSync(cred, 0o755);
    routes.set('GET /api/v1/namespaces/scribe-fixtures/persistentvolumeclaims/scratch', {
      status: 200,
      body: JSON.stringify(annotate.exchanges[0].response.body),
    });
    const c = clusterFor('exec', {
      exec: { apiVersion: 'client.authentication.k8s.io/v1', command: cred },
    });
    const pvc = await c.getPvc('scribe-fixtures', 'scratch');
    c.close();
    expect(pvc.spec?.volumeMode).toBe('Filesystem');
    expect(server.requests.at(-1)!.headers.authorization).toBe('Bearer from-exec');
  });

  it('re-reads a tokenFile for each request (service-account tokens rotate)', async () => {
    const tokenFile = join(server.dir, 'token');
    writeFileSync(tokenFile, 'first\n');
    const c = clusterFor('tf', { tokenFile });
    await c.getPvc('scribe-fixtures', 'scratch');
    expect(server.requests.at(-1)!.headers.authorization).toBe('Bearer first');
    writeFileSync(tokenFile, 'second');
    await c.getPvc('scribe-fixtures', 'scratch');
    expect(server.requests.at(-1)!.headers.authorization).toBe('Bearer second');
    c.close();
  });

  it('presents the client certificate an exec plugin returns, keeping the kubeconfig CA', async () => {
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:prime256v1',
        '-nodes',
        '-days',
        '1',
        '-subj',
        '/CN=exec-user',
        '-keyout',
        join(server.dir, 'ck.pem'),
        '-out',
        join(server.dir, 'cc.pem'),
      ],
      { stdio: 'ignore' },
    );
    const cred = join(server.dir, 'cert-cred.sh');
    writeFileSync(
      cred,
      `#!/bin/sh\nprintf '%s' '${JSON.stringify({
        apiVersion: 'client.authentication.k8s.io/v1',
        kind: 'ExecCredential',
        status: {
          clientCertificateData: readFileSync(join(server.dir, 'cc.pem'), 'utf8'),
          clientKeyData: readFileSync(join(server.dir, 'ck.pem'), 'utf8'),
        },
      })}'\n`,
    );
    chmodSync(cred, 0o755);
    const c = clusterFor('certexec', {
      exec: { apiVersion: 'client.authentication.k8s.io/v1', command: cred },
    });
    await c.getPvc('scribe-fixtures', 'scratch');
    c.close();
    expect(server.requests.at(-1)!.clientCn).toBe('exec-user');
    expect(server.requests.at(-1)!.headers.authorization).toBeUndefined();
  });

  it('a failing exec plugin is named', async () => {
    const cred = join(server.dir, 'bad-cred.sh');
    writeFileSync(cred, '#!/bin/sh\necho "token expired, run sso login" >&2\nexit 3\n');
    chmodSync(cred, 0o755);
    const c = clusterFor('badexec', {
      exec: { apiVersion: 'client.authentication.k8s.io/v1', command: cred },
    });
    await expect(c.getPvc('scribe-fixtures', 'scratch')).rejects.toThrow(
      `the exec credential plugin "${cred}" of user "badexec" failed: token expired, run sso login`,
    );
    c.close();
  });
});

describe('API errors in kubectl tone, from real Status bodies', () => {
  async function failWith(file: string, call: (c: Cluster) => Promise<unknown>): Promise<Error> {
    const a = fixtureAnswer(errorFile(file));
    routes.set(`${a.request.method} ${a.request.path}`, a);
    const c = clusterFor('prod');
    try {
      await call(c);
    } catch (e) {
      return e as Error;
    } finally {
      c.close();
    }
    throw new Error('expected a failure');
  }

  it('PVC not found names it, the namespace and context, and what to run', async () => {
    const e = await failWith('404-get-missing-pvc', (c) =>
      c.getPvc('scribe-errors', 'does-not-exist'),
    );
    expect(e.message).toBe(
      'persistentvolumeclaims "does-not-exist" not found in namespace "scribe-errors" (context "prod"): ' +
        'check the name with kubectl get pvc -n scribe-errors --context prod',
    );
  });

  it('no permission names the verb and the resource', async () => {
    const e = await failWith('403-rbac-forbidden-patch', (c) =>
      c.annotatePvc('scribe-errors', 'dup', { a: 'b' }),
    );
    expect(e.message).toBe(
      'persistentvolumeclaims "dup" is forbidden: User "jane" cannot patch resource "persistentvolumeclaims" in API group "" in the namespace "scribe-errors"; ' +
        'you need permission to patch persistentvolumeclaims in namespace "scribe-errors" (context "prod"): ' +
        'check with kubectl auth can-i patch persistentvolumeclaims -n scribe-errors --context prod',
    );
  });

  it('bad credentials read as kubectl says them', async () => {
    const a = fixtureAnswer(errorFile('401-invalid-bearer-token'));
    routes.set('GET /api/v1/namespaces/scribe-errors/persistentvolumeclaims', a);
    const c = clusterFor('prod');
    await expect(c.listPvcs('scribe-errors')).rejects.toThrow(
      /^You must be logged in to the server \(Unauthorized\): context "prod"/,
    );
    c.close();
  });

  it('a webhook denial passes through with its webhook name', async () => {
    const e = await failWith('403-webhook-denied', (c) =>
      c.createPvc({ metadata: { name: 'x', namespace: 'scribe-fixtures' } }),
    );
    expect(e.message).toMatch(
      /^admission webhook "validating\.capture\.fixtures\.example\.io" denied the request: .* \(context "prod"\)$/,
    );
  });

  it('an unreachable webhook says so', async () => {
    const e = await failWith('500-webhook-unreachable-failurepolicy-fail', (c) =>
      c.rest.request({
        method: 'POST',
        path: '/api/v1/namespaces/scribe-fixtures/pods',
        body: {},
        intent: { verb: 'create', resource: 'pods', namespace: 'scribe-fixtures' },
      }),
    );
    expect(e.message).toMatch(
      /failed calling webhook .*an admission webhook of that cluster is down/,
    );
  });

  it('AlreadyExists and Conflict are told apart', async () => {
    const e1 = await failWith('409-already-exists', (c) =>
      c.createPvc({ metadata: { name: 'dup', namespace: 'scribe-errors' } }),
    );
    expect(isAlreadyExists(e1)).toBe(true);
    const e2 = await failWith('409-conflict-stale-resourceversion', (c) =>
      c.rest.request({
        method: 'PUT',
        path: '/api/v1/namespaces/scribe-errors/persistentvolumeclaims/dup',
        body: {},
        intent: {
          verb: 'update',
          resource: 'persistentvolumeclaims',
          name: 'dup',
          namespace: 'scribe-errors',
        },
      }),
    );
    expect(isConflict(e2)).toBe(true);
    expect(e2.message).toMatch(/someone changed it meanwhile; run the command again$/);
  });

  it('snapshot CRDs not installed means no snapshot classes, not a failure', async () => {
    routes.set('GET /apis/snapshot.storage.k8s.io/v1/volumesnapshotclasses', {
      ...fixtureAnswer(errorFile('404-api-group-not-installed')),
    });
    const c = clusterFor('prod');
    expect(await c.listVolumeSnapshotClasses()).toEqual([]);
    c.close();
  });

  it('a server that does not answer in --request-timeout is reported', async () => {
    routes.set('GET /api/v1/namespaces/slow/persistentvolumeclaims', { status: 0, hang: true });
    const c = clusterFor('prod', undefined, 300);
    const t0 = Date.now();
    await expect(c.listPvcs('slow')).rejects.toThrow(/did not answer in time \(context "prod"\)/);
    expect(Date.now() - t0).toBeLessThan(5000);
    c.close();
  });

  it('a refused connection reads as kubectl says it', async () => {
    const { resolved } = loadConfig(
      { kubeconfig: server.writeKubeconfig('gone') },
      { env: {}, home: server.dir, serviceAccountDir: '/nonexistent' },
    );
    const c = new Cluster(
      new KubeRest({
        ...resolved,
        cluster: { ...resolved.cluster, server: 'https://127.0.0.1:1' },
      }),
    );
    await expect(c.listPvcs('x')).rejects.toThrow(
      'the connection to the server 127.0.0.1:1 was refused - did you specify the right host or port? (context "gone")',
    );
    c.close();
  });
});
