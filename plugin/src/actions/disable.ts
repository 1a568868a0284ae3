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
import { gone } from '../kube/api-errors.ts';
import type { Cluster } from '../kube/cluster.ts';
import { replicationNames } from '../plan/objects.ts';
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
