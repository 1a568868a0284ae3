import {
  disableAnnotationsPatch,
  parseSpec,
  renderPvcRef,
  type SourceSpec,
} from '../../../model/src/index.ts';
import type { KubeFlagValues } from '../cli/flags.ts';
import { CliError } from '../errors.ts';
import { ApiError, gone } from '../kube/api-errors.ts';
import type { Cluster } from '../kube/cluster.ts';
import { replicationNames } from '../plan/objects.ts';
import { quiesceRbacName, quiesceRole, quiesceRoleBinding } from '../plan/quiesce-rbac.ts';
import { connect, connectContext } from './connect.ts';

export interface DisableFlags extends KubeFlagValues {
  'delete-destination'?: boolean;
  'dry-run'?: boolean;
}

interface Step {
  line: string;
  run: () => Promise<unknown>;
}

function destinationSteps(
  spec: SourceSpec,
  sourceName: string,
  sourceRef: string,
  dst: Cluster,
  deleteData: boolean,
): Promise<Step[]> {
  const d = spec.destination;
  const where = `(context ${d.context}, namespace ${d.namespace})`;
  return (async () => {
    const steps: Step[] = [];
    const pvc = await dst.findPvc(d.namespace, d.name);
    const dstSpec = pvc ? parseSpec(pvc.metadata?.annotations).spec : undefined;
    const ours = dstSpec?.role === 'destination' && renderPvcRef(dstSpec.source) === sourceRef;
    const names = replicationNames(sourceName, d.name);
    const endpoint = names.endpoint;
    const secret =
      ours && dstSpec?.role === 'destination' ? dstSpec.secret : names.destinationSecret;
    steps.push(
      {
        line: `deployment.apps/${endpoint} deleted ${where}`,
        run: () => gone(dst.deleteDeployment(d.namespace, endpoint)),
      },
      {
        line: `service/${endpoint} deleted ${where}`,
        run: () => gone(dst.deleteService(d.namespace, endpoint)),
      },
      {
        line: `secret/${secret} deleted ${where}`,
        run: () => gone(dst.deleteSecret(d.namespace, secret)),
      },
    );
    if (pvc && ours) {
      if (deleteData) {
        steps.push({
          line: `persistentvolumeclaim/${d.name} deleted ${where}`,
          run: () => gone(dst.deletePvc(d.namespace, d.name)),
        });
      } else {
        const patch = disableAnnotationsPatch(pvc.metadata?.annotations);
        if (Object.keys(patch).length) {
          steps.push({
            line: `persistentvolumeclaim/${d.name} annotated ${where} (data kept)`,
            run: () => dst.annotatePvc(d.namespace, d.name, patch),
          });
        }
      }
    }
    return steps;
  })();
}

/**
 * The exec grant for quiesce hooks goes with the namespace's last hook: when
 * no other claim there has one. A user who may not delete it is told what
 * is left.
 */
async function quiesceRbacSteps(
  src: Cluster,
  ns: string,
  name: string,
  where: string,
  leftovers: string[],
): Promise<Step[]> {
  const claims = await src.listPvcs(ns);
  const others = (claims.items ?? []).some((c) => {
    const sp = parseSpec(c.metadata?.annotations).spec;
    return c.metadata?.name !== name && sp?.role === 'source' && sp.quiesce !== undefined;
  });
  if (others) return [];
  const tolerate = async (p: Promise<unknown>): Promise<unknown> => {
    try {
      return await gone(p);
    } catch (e) {
      if (!(e instanceof ApiError) || e.code !== 403) throw e;
      leftovers.push(
        `role and rolebinding ${quiesceRbacName} ${where} still let the replicator exec in this namespace's pods, and you may not delete them: ask an admin to (kubectl delete role,rolebinding -n ${ns} ${quiesceRbacName})`,
      );
      return false;
    }
  };
  return [quiesceRoleBinding(ns), quiesceRole(ns)].map((o) => ({
    line: `${String(o.kind).toLowerCase()}.rbac.authorization.k8s.io/${quiesceRbacName} deleted ${where}`,
    run: () => tolerate(src.deleteRbac(o)),
  }));
}

export async function disablePvc(name: string, flags: DisableFlags): Promise<void> {
  const src = connect(flags);
  let dst: Cluster | undefined;
  const ns = src.namespace;
  const where = `(context ${src.context}, namespace ${ns})`;
  try {
    const pvc = await src.getPvc(ns, name);
    const parsed = parseSpec(pvc.metadata?.annotations);
    if (!parsed.enabled) {
      process.stdout.write(`persistentvolumeclaim/${name} unchanged: not replicated\n`);
      return;
    }
    if (parsed.spec?.role === 'destination') {
      throw new CliError(
        `persistentvolumeclaim "${name}" is the destination of ${renderPvcRef(parsed.spec.source)}: disable its source (kubectl scribe disable pvc ${parsed.spec.source.name} --context ${parsed.spec.source.context} -n ${parsed.spec.source.namespace})`,
      );
    }
    const spec = parsed.spec?.role === 'source' ? parsed.spec : undefined;
    const sourceRef = renderPvcRef({ context: src.context, namespace: ns, name });
    // The source first: once its annotations are gone, nothing syncs any more.
    const steps: Step[] = [];
    const patch = disableAnnotationsPatch(pvc.metadata?.annotations);
    steps.push({
      line: `persistentvolumeclaim/${name} annotated ${where}`,
      run: () => src.annotatePvc(ns, name, patch),
    });
    const leftovers: string[] = [];
    if (spec) {
      try {
        dst =
          spec.destination.context === src.context && !flags.cluster && !flags.user
            ? src
            : connectContext(flags, spec.destination.context);
        steps.push(
          ...(await destinationSteps(
            spec,
            name,
            sourceRef,
            dst,
            Boolean(flags['delete-destination']),
          )),
        );
      } catch (e) {
        leftovers.push(
          `the destination ${renderPvcRef(spec.destination)} was not cleaned up (${(e as Error).message}); run disable again once it is reachable`,
        );
      }
      steps.push({
        line: `secret/${spec.secret} deleted ${where}`,
        run: () => gone(src.deleteSecret(ns, spec.secret)),
      });
      if (spec.quiesce) steps.push(...(await quiesceRbacSteps(src, ns, name, where, leftovers)));
    }
    if (flags['dry-run']) {
      for (const s of steps)
        process.stdout.write(`${s.line.replace(/ (deleted|annotated) /, ' $1 (dry run) ')}\n`);
      for (const l of leftovers) process.stderr.write(`Warning: ${l}\n`);
      return;
    }
    for (const s of steps) {
      const did = await s.run();
      if (did !== false) process.stdout.write(`${s.line}\n`);
    }
    if (leftovers.length) {
      // The source is no longer replicated; say what remains elsewhere.
      throw new CliError(leftovers.join('\nerror: '));
    }
  } finally {
    src.close();
    if (dst && dst !== src) dst.close();
  }
}
