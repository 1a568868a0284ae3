import {
  defaultTarget,
  disableAnnotationsPatch,
  disableTargetPatch,
  parseSpec,
  renderPvcRef,
  sourceTargets,
  type TargetSpec,
} from '../../../model/src/index.ts';
import type { KubeFlagValues } from '../cli/flags.ts';
import { CliError } from '../errors.ts';
import { ApiError, gone } from '../kube/api-errors.ts';
import type { Cluster } from '../kube/cluster.ts';
import { replicationNames } from '../plan/objects.ts';
import { quiesceRbacName, quiesceRole, quiesceRoleBinding } from '../plan/quiesce-rbac.ts';
import { connect, connectContext } from './connect.ts';
import { chooseTargets } from './sync.ts';

export interface DisableFlags extends KubeFlagValues {
  /** Remove only this destination of a source with several; all when absent. */
  target?: string | undefined;
  'delete-destination'?: boolean;
  'dry-run'?: boolean;
}

interface Step {
  line: string;
  run: () => Promise<unknown>;
}

function destinationSteps(
  spec: TargetSpec,
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
  const closeLater: Cluster[] = [];
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
    if (flags.target !== undefined && !spec) {
      throw new CliError(
        `persistentvolumeclaim "${name}" has invalid Scribe annotations: --target needs a valid spec; disable the whole PVC without --target`,
      );
    }
    const targets = spec ? chooseTargets(spec, name, flags.target) : [];
    const others = spec ? sourceTargets(spec).filter((t) => !targets.includes(t)) : [];
    if (flags.target === defaultTarget && others.length > 0) {
      throw new CliError(
        `the default target of persistentvolumeclaim "${name}" (${renderPvcRef(targets[0]!.destination)}) holds the PVC's unsuffixed keys: ` +
          `disable its other targets first (${others.map((t) => `--target ${t.name}`).join(', ')}), or the whole PVC without --target`,
      );
    }
    const sourceRef = renderPvcRef({ context: src.context, namespace: ns, name });
    // The source first: once its annotations are gone, nothing syncs any more.
    const steps: Step[] = [];
    const patch =
      flags.target === undefined || others.length === 0
        ? disableAnnotationsPatch(pvc.metadata?.annotations)
        : disableTargetPatch(pvc.metadata?.annotations, flags.target);
    steps.push({
      line: `persistentvolumeclaim/${name} annotated ${where}${flags.target !== undefined && others.length > 0 ? ` (target ${flags.target} removed)` : ''}`,
      run: () => src.annotatePvc(ns, name, patch),
    });
    const leftovers: string[] = [];
    const dsts: Cluster[] = [];
    for (const t of targets) {
      try {
        const there =
          t.destination.context === src.context && !flags.cluster && !flags.user
            ? src
            : connectContext(flags, t.destination.context);
        if (there !== src) dsts.push(there);
        steps.push(
          ...(await destinationSteps(
            t,
            name,
            sourceRef,
            there,
            Boolean(flags['delete-destination']),
          )),
        );
      } catch (e) {
        leftovers.push(
          `the destination ${renderPvcRef(t.destination)} was not cleaned up (${(e as Error).message}); run disable again once it is reachable`,
        );
      }
      steps.push({
        line: `secret/${t.secret} deleted ${where}`,
        run: () => gone(src.deleteSecret(ns, t.secret)),
      });
    }
    // The hook is the PVC's: its Role goes with the replication, not with one target.
    if (spec?.quiesce && (flags.target === undefined || others.length === 0))
      steps.push(...(await quiesceRbacSteps(src, ns, name, where, leftovers)));
    dst = dsts[0];
    closeLater.push(...dsts.slice(1));
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
    for (const c of closeLater) c.close();
  }
}
