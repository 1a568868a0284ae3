import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig, type LoadEnvironment } from '../../plugin/src/kubeconfig/load.ts';
import { parseRequestTimeout } from '../../plugin/src/kubeconfig/resolve.ts';

// Two kubeconfig files that disagree: both set current-context, both define a
// cluster, user and context named "shared". kubectl lets the first file win.
const fileA = `apiVersion: v1
kind: Config
current-context: prod
clusters:
- name: shared
  cluster: {server: https://a.example:6443, certificate-authority: certs/ca-a.crt}
- name: prod
  cluster: {server: https://prod.example:6443/}
users:
- name: shared
  user: {token: token-a}
- name: filetoken
  user: {tokenFile: tokens/t}
contexts:
- name: prod
  context: {cluster: prod, user: shared, namespace: apps}
- name: shared
  context: {cluster: shared, user: shared}
`;
const fileB = `apiVersion: v1
kind: Config
current-context: dr
clusters:
- name: shared
  cluster: {server: https://b.example:6443}
- name: dr
  cluster: {server: https://dr.example:6443}
users:
- name: shared
  user: {token: token-b}
- name: druser
  user:
    exec:
      apiVersion: client.authentication.k8s.io/v1
      command: ./bin/cred
      interactiveMode: Never
- name: pathuser
  user:
    exec: {apiVersion: client.authentication.k8s.io/v1, command: cred-on-path}
contexts:
- name: dr
  context: {cluster: dr, user: druser}
- name: shared
  context: {cluster: dr, user: druser, namespace: bbb}
`;

let dir: string;
let a: string;
let b: string;
const hasKubectl = spawnSync('kubectl', ['version', '--client'], { stdio: 'ignore' }).status === 0;

function env(vars: Record<string, string | undefined>, extra?: Partial<LoadEnvironment>) {
  return {
    env: vars,
    home: join(dir, 'home'),
    serviceAccountDir: join(dir, 'sa'),
    ...extra,
  };
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'scribe-kubeconfig-'));
  mkdirSync(join(dir, 'a', 'certs'), { recursive: true });
  mkdirSync(join(dir, 'a', 'tokens'), { recursive: true });
  mkdirSync(join(dir, 'b', 'bin'), { recursive: true });
  mkdirSync(join(dir, 'home'), { recursive: true });
  a = join(dir, 'a', 'config');
  b = join(dir, 'b', 'config');
  writeFileSync(a, fileA);
  writeFileSync(b, fileB);
  writeFileSync(join(dir, 'a', 'tokens', 't'), 'token-from-file\n');
  const cred = join(dir, 'b', 'bin', 'cred');
  writeFileSync(
    cred,
    '#!/bin/sh\necho \'{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"token":"exec-token"}}\'\n',
  );
  chmodSync(cred, 0o755);
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('KUBECONFIG with several files, as kubectl merges them', () => {
  it('the first file wins current-context and every duplicate name, without throwing', () => {
    const { resolved, merged } = loadConfig({}, env({ KUBECONFIG: `${a}:${b}` }));
    expect(merged.currentContext).toBe('prod');
    expect(resolved.contextName).toBe('prod');
    expect(resolved.cluster.server).toBe('https://prod.example:6443/');
    expect(resolved.namespace).toBe('apps');
    expect(merged.clusters.map((c) => c.name)).toEqual(['shared', 'prod', 'dr']);
    const shared = loadConfig({ context: 'shared' }, env({ KUBECONFIG: `${a}:${b}` })).resolved;
    expect(shared.cluster.server).toBe('https://a.example:6443');
    expect(shared.user.token).toBe('token-a');
    expect(shared.namespace).toBe('default');
  });

  it('reversing the order reverses the winners', () => {
    const { resolved } = loadConfig({}, env({ KUBECONFIG: `${b}:${a}` }));
    expect(resolved.contextName).toBe('dr');
    const shared = loadConfig({ context: 'shared' }, env({ KUBECONFIG: `${b}:${a}` })).resolved;
    expect(shared.cluster.server).toBe('https://dr.example:6443');
    expect(shared.namespace).toBe('bbb');
  });

  it('skips missing and repeated entries, and empty ones', () => {
    const { merged } = loadConfig({}, env({ KUBECONFIG: `:${join(dir, 'nope')}:${a}::${a}:${b}` }));
    expect(merged.files).toEqual([a, b]);
  });

  it('resolves relative paths against the file that names them', () => {
    const kc = `${a}:${b}`;
    const shared = loadConfig({ context: 'shared' }, env({ KUBECONFIG: kc })).resolved;
    expect(shared.cluster['certificate-authority']).toBe(join(dir, 'a', 'certs', 'ca-a.crt'));
    const dr = loadConfig({ context: 'dr' }, env({ KUBECONFIG: kc })).resolved;
    expect(dr.user.exec?.command).toBe(join(dir, 'b', 'bin', 'cred'));
    const onPath = loadConfig({ context: 'dr', user: 'pathuser' }, env({ KUBECONFIG: kc }));
    expect(onPath.resolved.user.exec?.command).toBe('cred-on-path');
    const ft = loadConfig({ user: 'filetoken' }, env({ KUBECONFIG: kc })).resolved;
    expect(ft.user.tokenFile).toBe(join(dir, 'a', 'tokens', 't'));
  });

  it('falls back to ~/.kube/config without KUBECONFIG', () => {
    mkdirSync(join(dir, 'home2', '.kube'), { recursive: true });
    writeFileSync(join(dir, 'home2', '.kube', 'config'), fileB);
    const { resolved } = loadConfig({}, env({}, { home: join(dir, 'home2') }));
    expect(resolved.contextName).toBe('dr');
  });

  it.skipIf(!hasKubectl)('picks what kubectl config view --minify picks', () => {
    for (const [order, flags] of [
      [`${a}:${b}`, []],
      [`${b}:${a}`, []],
      [`${a}:${b}`, ['--context', 'shared']],
      [`${b}:${a}`, ['--context', 'shared']],
    ] as const) {
      const out = execFileSync('kubectl', ['config', 'view', '--minify', '-o', 'json', ...flags], {
        env: { ...process.env, KUBECONFIG: order },
        encoding: 'utf8',
      });
      const view = JSON.parse(out) as {
        'current-context': string;
        clusters: { cluster: { server: string } }[];
        contexts: { context: { namespace?: string; user: string } }[];
      };
      const ours = loadConfig(
        flags.length ? { context: flags[1] } : {},
        env({ KUBECONFIG: order }),
      ).resolved;
      expect(ours.contextName).toBe(view['current-context']);
      expect(ours.cluster.server).toBe(view.clusters[0]?.cluster.server);
      expect(ours.userName).toBe(view.contexts[0]?.context.user);
      expect(ours.namespace).toBe(view.contexts[0]?.context.namespace ?? 'default');
    }
  });
});

describe('kubectl flags', () => {
  const e = () => env({ KUBECONFIG: `${a}:${b}` });

  it('--cluster, --user and -n override the context', () => {
    const r = loadConfig(
      { context: 'prod', cluster: 'dr', user: 'druser', namespace: 'x' },
      e(),
    ).resolved;
    expect(r.cluster.server).toBe('https://dr.example:6443');
    expect(r.userName).toBe('druser');
    expect(r.namespace).toBe('x');
    expect(r.namespaceExplicit).toBe(true);
  });

  it('an unknown context names the files and the contexts there', () => {
    expect(() => loadConfig({ context: 'nope' }, e())).toThrow(
      `context "nope" not found in kubeconfig files ${a}:${b}; the contexts there are: prod, shared, dr (kubectl config get-contexts)`,
    );
  });

  it('an unknown cluster or user is refused as kubectl refuses it', () => {
    expect(() => loadConfig({ cluster: 'nope' }, e())).toThrow(
      /^no server found for cluster "nope" \(context "prod"\)/,
    );
    expect(() => loadConfig({ user: 'nope' }, e())).toThrow(/^auth info "nope" does not exist/);
  });

  it('--kubeconfig reads that file only, and it must exist', () => {
    const r = loadConfig({ kubeconfig: b }, env({ KUBECONFIG: a })).resolved;
    expect(r.contextName).toBe('dr');
    expect(() => loadConfig({ kubeconfig: join(dir, 'missing') }, e())).toThrow(
      `kubeconfig file ${join(dir, 'missing')} does not exist (from --kubeconfig)`,
    );
  });

  it('a broken file is named', () => {
    const bad = join(dir, 'bad');
    writeFileSync(bad, 'clusters: [unclosed\n');
    expect(() => loadConfig({}, env({ KUBECONFIG: bad }))).toThrow(
      new RegExp(`^error loading config file "${bad}": `),
    );
    writeFileSync(bad, 'clusters: {a: 1}\n');
    expect(() => loadConfig({}, env({ KUBECONFIG: bad }))).toThrow('clusters is not a list');
  });

  it('no configuration at all says what to do', () => {
    expect(() => loadConfig({}, env({}))).toThrow(
      /^no configuration has been provided: set KUBECONFIG/,
    );
  });

  it('--request-timeout takes kubectl values', () => {
    expect(parseRequestTimeout('0')).toBeUndefined();
    expect(parseRequestTimeout(undefined)).toBeUndefined();
    expect(parseRequestTimeout('5')).toBe(5000);
    expect(parseRequestTimeout('2m')).toBe(120_000);
    expect(parseRequestTimeout('1h')).toBe(3_600_000);
    expect(parseRequestTimeout('250ms')).toBe(250);
    expect(() => parseRequestTimeout('abc')).toThrow(/invalid --request-timeout "abc"/);
    expect(() => parseRequestTimeout('-1s')).toThrow(/invalid --request-timeout/);
  });
});

describe('in a pod', () => {
  it('uses the service account when there is no kubeconfig', () => {
    const sa = join(dir, 'sa');
    mkdirSync(sa, { recursive: true });
    writeFileSync(join(sa, 'token'), 'sa-token');
    writeFileSync(join(sa, 'namespace'), 'scribe-system\n');
    writeFileSync(join(sa, 'ca.crt'), '');
    const pod = { KUBERNETES_SERVICE_HOST: 'fd00::1', KUBERNETES_SERVICE_PORT: '443' };
    const r = loadConfig({}, env(pod)).resolved;
    expect(r.inCluster).toBe(true);
    expect(r.cluster.server).toBe('https://[fd00::1]:443');
    expect(r.namespace).toBe('scribe-system');
    expect(loadConfig({ namespace: 'other' }, env(pod)).resolved.namespace).toBe('other');
    // A kubeconfig, or a flag that needs one, takes precedence as in kubectl.
    expect(loadConfig({}, env({ ...pod, KUBECONFIG: a })).resolved.inCluster).toBe(false);
    expect(() => loadConfig({ context: 'x' }, env(pod))).toThrow(
      'context "x" not found in the kubeconfig; it defines no contexts',
    );
  });
});
