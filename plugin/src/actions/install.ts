import type { V1Deployment } from '@kubernetes/client-node';
import type { KubeFlagValues } from '../cli/flags.ts';
import { CliError } from '../errors.ts';
import { fieldManager } from '../kube/rest.ts';
import { parseRequestTimeout } from '../kubeconfig/resolve.ts';
import {
  applyObject,
  deleteObject,
  getDeployment,
  getObject,
  installedObjects,
  probeWebhook,
  serverVersion,
} from '../install/api.ts';
import { chooseBuild, parseServerVersion } from '../install/build.ts';
import { manifestsSource } from '../install/manifests-source.ts';
import { rolloutOf } from '../install/readiness.ts';
import { prunable } from '../install/removal.ts';
import { renderBuild } from '../install/render.ts';
import { displayName, installNamespace, type ManifestObject } from '../install/resources.ts';
import { VERSION } from '../version.ts';
import { connect } from './connect.ts';

export interface InstallFlags extends KubeFlagValues {
  'dry-run'?: boolean;
  'wait-timeout'?: string | undefined;
}

const pollMs = Number(process.env.SCRIBE_POLL_MS) || 1000;
export function waitTimeoutMs(value: string | undefined): number {
  try {
    return parseRequestTimeout(value ?? '5m') ?? 0;
  } catch {
    throw new CliError(
      `invalid --wait-timeout "${value}": use an integer in seconds, or with a unit (e.g. 90s | 5m)`,
    );
  }
}

/** The validating webhook's name in the build: the probe must be refused by it. */
export function validatingWebhookName(objects: readonly ManifestObject[]): string {
  const v = objects.find((o) => o.kind === 'ValidatingWebhookConfiguration') as
    (ManifestObject & { webhooks?: { name: string }[] }) | undefined;
  const name = v?.webhooks?.[0]?.name;
  if (!name) throw new CliError('the manifests hold no validating webhook');
  return name;
}

async function waitFor<T>(
  deadline: number,
  what: string,
  step: () => Promise<{ done: boolean; line: string; value?: T }>,
): Promise<T | undefined> {
  let last = '';
  for (;;) {
    const r = await step();
    if (r.line !== last) {
      process.stderr.write(`${r.line}\n`);
      last = r.line;
    }
    if (r.done) return r.value;
    if (Date.now() + pollMs > deadline) {
      throw new CliError(
        `gave up waiting for ${what}: ${r.line}; the objects are applied: see kubectl scribe doctor, or wait longer with --wait-timeout`,
      );
    }
    await new Promise((res) => setTimeout(res, pollMs));
  }
}

export async function install(flags: InstallFlags): Promise<void> {
  const timeoutMs = waitTimeoutMs(flags['wait-timeout']);
  const dryRun = Boolean(flags['dry-run']);
  const cluster = connect(flags);
  const rest = cluster.rest;
  const source = await manifestsSource();
  try {
    const version = parseServerVersion(await serverVersion(rest));
    const build = chooseBuild(version);
    const objects = await renderBuild(source.root, build);
    const namespace = installNamespace(objects);
    const deployments = objects.filter((o) => o.kind === 'Deployment');
    const before = await Promise.all(deployments.map((d) => getObject(rest, d)));
    const upgrade = before.some(Boolean);
    const running = (before.find(Boolean) as V1Deployment | undefined)?.spec?.template?.spec
      ?.containers?.[0]?.image;
    process.stderr.write(
      `${dryRun ? 'Dry run: ' : ''}${upgrade ? `Upgrading Scribe${running ? ` (running ${running})` : ''} to` : 'Installing Scribe'} v${VERSION} in context "${cluster.context}" (Kubernetes ${version.gitVersion}): ${build.why}; manifests from the ${source.origin === 'checkout' ? `checkout (${source.root}manifests)` : 'executable'}, rendered by kubectl kustomize\n`,
    );
    // A server dry run of an object in a namespace that does not exist yet
    // is a 404 (as with kubectl apply --dry-run=server): such objects are
    // listed, not sent.
    const namespaceMissing =
      dryRun &&
      !(await getObject(rest, {
        apiVersion: 'v1',
        kind: 'Namespace',
        metadata: { name: namespace },
      }));
    for (const o of objects) {
      if (namespaceMissing && o.metadata.namespace === namespace) {
        process.stdout.write(
          `${displayName(o)} serverside-applied (dry run, not sent: namespace ${namespace} does not exist yet)\n`,
        );
        continue;
      }
      await applyObject(rest, o, dryRun);
      process.stdout.write(
        `${displayName(o)} serverside-applied${dryRun ? ' (server dry run)' : ''}\n`,
      );
    }
    if (dryRun) return;
    for (const o of prunable(await installedObjects(rest, namespace), objects, fieldManager)) {
      if (await deleteObject(rest, o, false)) process.stdout.write(`${displayName(o)} pruned\n`);
    }
    const tls = objects.some((o) => o.kind === 'Certificate')
      ? 'cert-manager issues the webhook certificate and injects caBundle'
      : `the webhook makes its own CA (secret ${namespace}/scribe-webhook-ca), signs and rotates its serving certificate, and writes caBundle itself`;
    process.stderr.write(`TLS: ${tls}\n`);

    const deadline = Date.now() + timeoutMs;
    for (const d of deployments) {
      await waitFor(deadline, `deployment "${d.metadata.name}"`, async () => {
        const current = await getDeployment(rest, namespace, d.metadata.name);
        return current
          ? rolloutOf(current)
          : { done: false, line: `Waiting for deployment "${d.metadata.name}" to exist...` };
      });
    }
    const webhook = validatingWebhookName(objects);
    const started = Date.now();
    await waitFor(deadline, `the webhook ${webhook} to answer`, async () => {
      const r = await probeWebhook(rest, webhook);
      if (r.state === 'unknown') throw new CliError(r.detail);
      return {
        done: r.state === 'answering',
        line:
          r.state === 'answering'
            ? `webhook "${webhook}" answers admission requests`
            : `Waiting for webhook "${webhook}" to answer: ${r.detail}...`,
      };
    });
    process.stdout.write(
      `Scribe v${VERSION} ${upgrade ? 'upgraded' : 'installed'} in context "${cluster.context}": ${deployments.map((d) => d.metadata.name).join(' and ')} available, the webhook answering (${((Date.now() - started) / 1000).toFixed(1)}s after the rollout)\n`,
    );
  } finally {
    cluster.close();
    await source.release();
  }
}
