// Carries out an enable plan against both clusters. Each step is recorded so
// that a failure undoes what this run created or changed, newest first; the
// source PVC's annotations are written last, since they are what sets the
// in-cluster server to work.
import type { V1Node, V1PersistentVolumeClaim, V1Service } from '@kubernetes/client-node';
import { findTarget, specAnnotationsPatch, withTarget } from '../../../model/src/index.ts';
import { CliError } from '../errors.ts';
import { isAlreadyExists } from '../kube/api-errors.ts';
import type { AnnotationPatch, Cluster } from '../kube/cluster.ts';
import type { EnablePlan, ServiceType } from './enable.ts';
import { destinationSecret, moverPort, sourceSecret, type KeyMaterial } from './objects.ts';
import { quiesceRbacName, quiesceRole, quiesceRoleBinding } from './quiesce-rbac.ts';

export interface EnableDeps {
  generateKeys(comment: string): Promise<KeyMaterial>;
  /** How long to wait for the Service's address. */
  endpointTimeoutMs: number;
  pollMs: number;
  /** Aborted on Ctrl-C: the run stops at the next step and undoes itself. */
  signal?: AbortSignal | undefined;
  /** One line per change, as kubectl prints them ("secret/x created"). */
  log(line: string): void;
}

export interface EnableResult {
  endpoint: string;
  changes: string[];
}

/** HOST:PORT from a Service, or undefined while it has none yet. */
export function endpointAddress(
  svc: V1Service,
  type: ServiceType,
  nodes: readonly V1Node[] = [],
): string | undefined {
  const hostPort = (host: string, port: number) =>
    `${host.includes(':') ? `[${host}]` : host}:${port}`;
  if (type === 'LoadBalancer') {
    const ing = svc.status?.loadBalancer?.ingress?.[0];
    const host = ing?.ip ?? ing?.hostname;
    return host ? hostPort(host, moverPort) : undefined;
  }
  if (type === 'NodePort') {
    const port = svc.spec?.ports?.[0]?.nodePort;
    const addrs = nodes.flatMap((n) => n.status?.addresses ?? []);
    const addr =
      addrs.find((a) => a.type === 'ExternalIP') ?? addrs.find((a) => a.type === 'InternalIP');
    return port && addr ? hostPort(addr.address, port) : undefined;
  }
  const ip = svc.spec?.clusterIP;
  return ip && ip !== 'None' ? hostPort(ip, moverPort) : undefined;
}

/** The merge patch that puts back what `patch` changes in `before`. */
export function inversePatch(
  before: Record<string, string> | undefined,
  patch: AnnotationPatch,
): AnnotationPatch {
  const out: AnnotationPatch = {};
  for (const k of Object.keys(patch)) out[k] = before?.[k] ?? null;
  return out;
}

export async function executeEnable(
  plan: EnablePlan,
  src: Cluster,
  dst: Cluster,
  srcPvc: V1PersistentVolumeClaim,
  dstPvc: V1PersistentVolumeClaim | undefined,
  deps: EnableDeps,
): Promise<EnableResult> {
  const undo: { what: string; run: () => Promise<unknown> }[] = [];
  const changes: string[] = [];
  const d = plan.destination;
  const s = plan.source;
  const note = (line: string) => {
    changes.push(line);
    deps.log(line);
    deps.signal?.throwIfAborted();
  };
  try {
    deps.signal?.throwIfAborted();
    let dstUid = dstPvc?.metadata?.uid;
    if (plan.create.destinationPvc) {
      dstUid = (await dst.createPvc(plan.create.destinationPvc)).metadata?.uid;
      undo.push({
        what: `persistentvolumeclaim/${d.name} (context ${d.context})`,
        run: () => dst.deletePvc(d.namespace, d.name),
      });
      note(
        `persistentvolumeclaim/${d.name} created (context ${d.context}, namespace ${d.namespace})`,
      );
    }

    let keys: KeyMaterial | undefined;
    if (plan.keys === 'generate') {
      keys = await deps.generateKeys(`scribe-${s.namespace}-${s.name}`);
    }
    if (plan.create.destinationSecret && keys) {
      await dst.createSecret(
        destinationSecret(plan.names.destinationSecret, d.namespace, d.name, keys, {
          name: d.name,
          uid: dstUid,
        }),
      );
      undo.push({
        what: `secret/${plan.names.destinationSecret} (context ${d.context})`,
        run: () => dst.deleteSecret(d.namespace, plan.names.destinationSecret),
      });
      note(
        `secret/${plan.names.destinationSecret} created (context ${d.context}, namespace ${d.namespace})`,
      );
    }
    if (plan.create.sourceSecret && keys) {
      await src.createSecret(
        sourceSecret(plan.names.sourceSecret, s.namespace, s.name, keys, {
          name: s.name,
          uid: srcPvc.metadata?.uid,
        }),
      );
      undo.push({
        what: `secret/${plan.names.sourceSecret} (context ${s.context})`,
        run: () => src.deleteSecret(s.namespace, plan.names.sourceSecret),
      });
      note(
        `secret/${plan.names.sourceSecret} created (context ${s.context}, namespace ${s.namespace})`,
      );
    }
    if (plan.create.deployment) {
      await dst.createDeployment(plan.create.deployment);
      undo.push({
        what: `deployment.apps/${plan.names.endpoint} (context ${d.context})`,
        run: () => dst.deleteDeployment(d.namespace, plan.names.endpoint),
      });
      note(
        `deployment.apps/${plan.names.endpoint} created (context ${d.context}, namespace ${d.namespace})`,
      );
    }
    if (plan.create.service) {
      await dst.createService(plan.create.service);
      undo.push({
        what: `service/${plan.names.endpoint} (context ${d.context})`,
        run: () => dst.deleteService(d.namespace, plan.names.endpoint),
      });
      note(
        `service/${plan.names.endpoint} created (context ${d.context}, namespace ${d.namespace})`,
      );
    }

    // Destination first: a source pointing at an unannotated destination
    // would be half-configured. Where Scribe runs the endpoint, annotating the
    // destination is what makes its server start it.
    const annotateDestination = async () => {
      const dstBefore = (dstPvc ?? (await dst.getPvc(d.namespace, d.name))).metadata?.annotations;
      const dstPatch = specAnnotationsPatch(dstBefore, plan.destinationSpec);
      if (!Object.keys(dstPatch).length) return;
      await dst.annotatePvc(d.namespace, d.name, dstPatch);
      undo.push({
        what: `the annotations of persistentvolumeclaim/${d.name} (context ${d.context})`,
        run: () => dst.annotatePvc(d.namespace, d.name, inversePatch(dstBefore, dstPatch)),
      });
      note(
        `persistentvolumeclaim/${d.name} annotated (context ${d.context}, namespace ${d.namespace})`,
      );
    };
    let endpoint: string;
    if (plan.endpointBy === 'scribe') {
      await annotateDestination();
      endpoint = await waitForEndpoint(plan, dst, deps, async () => {
        const list = await dst.listServices(d.namespace);
        return (list.items ?? []).find((svc) =>
          svc.metadata?.ownerReferences?.some(
            (o) => o.kind === 'PersistentVolumeClaim' && o.uid === dstUid,
          ),
        );
      });
    } else {
      endpoint = await waitForEndpoint(plan, dst, deps, () =>
        dst.getService(d.namespace, plan.names.endpoint),
      );
      await annotateDestination();
    }
    if (plan.sourceSpec.quiesce) {
      // The replicator may exec in this namespace's pods only once someone who may asks for it.
      for (const o of [quiesceRole(s.namespace), quiesceRoleBinding(s.namespace)]) {
        try {
          await src.createRbac(o);
        } catch (e) {
          if (!isAlreadyExists(e)) throw e;
          continue; // another claim's hook made it: it stays when this run rolls back
        }
        const what = `${String(o.kind).toLowerCase()}.rbac.authorization.k8s.io/${quiesceRbacName}`;
        undo.push({
          what: `${what} (context ${s.context})`,
          run: () => src.deleteRbac(o),
        });
        note(`${what} created (context ${s.context}, namespace ${s.namespace})`);
      }
    }
    const srcBefore = srcPvc.metadata?.annotations;
    const target = findTarget(plan.sourceSpec, plan.target)!;
    const srcPatch = specAnnotationsPatch(
      srcBefore,
      withTarget(plan.sourceSpec, { ...target, endpoint }),
    );
    if (Object.keys(srcPatch).length) {
      await src.annotatePvc(s.namespace, s.name, srcPatch);
      note(
        `persistentvolumeclaim/${s.name} annotated (context ${s.context}, namespace ${s.namespace})`,
      );
    }
    return { endpoint, changes };
  } catch (err) {
    const left: string[] = [];
    for (const step of undo.reverse()) {
      try {
        await step.run();
        deps.log(`rolled back: ${step.what}`);
      } catch (e) {
        left.push(`${step.what}: ${(e as Error).message}`);
      }
    }
    const reason = isAlreadyExists(err)
      ? `${(err as Error).message} (created by someone else meanwhile; run the command again)`
      : (err as Error).message;
    if (left.length) {
      throw new CliError(
        `${reason}\nrollback left these behind: ${left.join('; ')}; run kubectl scribe disable pvc ${s.name} --context ${s.context} to remove them`,
        { cause: err },
      );
    }
    throw new CliError(
      undo.length ? `${reason} (everything this run created was removed again)` : reason,
      { cause: err, exitCode: (err as { exitCode?: number }).exitCode ?? 1 },
    );
  }
}

async function waitForEndpoint(
  plan: EnablePlan,
  dst: Cluster,
  deps: EnableDeps,
  find: () => Promise<V1Service | undefined>,
): Promise<string> {
  const d = plan.destination;
  const deadline = Date.now() + deps.endpointTimeoutMs;
  let nodes: V1Node[] = [];
  if (plan.serviceType === 'NodePort') nodes = (await dst.listNodes()).items ?? [];
  const what =
    plan.endpointBy === 'scribe'
      ? `the endpoint Scribe's server runs for persistentvolumeclaim/${d.name}`
      : `service/${plan.names.endpoint}`;
  let told = false;
  for (;;) {
    deps.signal?.throwIfAborted();
    const svc = await find();
    const addr = svc && endpointAddress(svc, plan.serviceType, nodes);
    if (addr) return addr;
    if (Date.now() + deps.pollMs > deadline) {
      const after = `after ${Math.round(deps.endpointTimeoutMs / 1000)}s`;
      if (plan.endpointBy === 'scribe' && !svc) {
        throw new CliError(
          `Scribe's server in context ${d.context} has not created an endpoint for persistentvolumeclaim "${d.name}" (namespace ${d.namespace}) ${after}: ` +
            'check that it runs there, or raise --endpoint-timeout',
        );
      }
      throw new CliError(
        `service "${svc?.metadata?.name ?? plan.names.endpoint}" (context ${d.context}, namespace ${d.namespace}) has no ${
          plan.serviceType === 'LoadBalancer' ? 'load balancer address' : 'address'
        } ${after}: ` +
          (plan.serviceType === 'LoadBalancer'
            ? 'does that cluster provide LoadBalancer Services? Try --service-type NodePort, or raise --endpoint-timeout'
            : 'check the Service with kubectl describe service'),
      );
    }
    if (!told) {
      deps.log(`waiting for the address of ${what} (context ${d.context})`);
      told = true;
    }
    await sleep(deps.pollMs, deps.signal);
  }
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      reject(signal!.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
