// The admission chain kube-apiserver v1.24 runs for webhooks
// (admission/plugin/webhook/{mutating,validating}/dispatcher.go):
//
// mutate: the mutating webhooks one after another, in configuration-name
//   order, each seeing the object as the previous ones left it; then, if a
//   webhook changed the object, one more round over the earlier webhooks
//   that asked for reinvocationPolicy IfNeeded.
// validate: all matching validating webhooks at once; the first failure to
//   arrive is the answer.
//
// A failed call (unreachable, TLS, timeout, bad answer) obeys failurePolicy;
// a denial, a patch that does not apply and a dry run the webhook cannot
// take do not.
import type {
  V1MutatingWebhook,
  V1MutatingWebhookConfiguration,
  V1Namespace,
  V1ValidatingWebhookConfiguration,
} from '@kubernetes/client-node';
import { callWebhook, CallFailure, type CallOutcome } from './call-webhook.ts';
import type { ResolveService } from './https-call.ts';
import { SelectorError, type Labels } from './label-selector.ts';
import {
  isWebhookConfigurationResource,
  namespaceLabels,
  namespaceSelectorMatches,
  needsNamespaceLookup,
  objectSelectorMatches,
  rulesMatch,
} from './match.ts';
import type { AdmissionAttributes, AdmissionChain, KubeObject } from './seam.ts';
import { ApiError } from './seam.ts';
import { AdmissionError, internalError, notFound } from './status.ts';
import { orderMutating, orderValidating, type AnyWebhook, type WebhookEntry } from './webhooks.ts';

/** What the chain needs from the API server it sits in. */
export interface AdmissionDeps {
  /** The stored webhook configurations, read on every request (no cache to go stale). */
  webhookConfigurations(): Promise<{
    mutating: V1MutatingWebhookConfiguration[];
    validating: V1ValidatingWebhookConfiguration[];
  }>;
  /** The stored namespace, or undefined when there is none. */
  namespace(name: string): Promise<V1Namespace | undefined>;
  /** A webhook Service's local address (rejects with the reason, e.g. `service "x" not found`). */
  resolveService: ResolveService;
  /**
   * Runs on an object a webhook patched, like the real server's decode into
   * the typed struct plus defaulting (unknown fields dropped, defaults set).
   * Default: the object unchanged.
   */
  normalize?(object: KubeObject): KubeObject;
  /** One entry per webhook call; never carries objects or credentials. */
  log?(entry: AdmissionLogEntry): void;
}

export interface AdmissionLogEntry {
  phase: 'mutating' | 'validating';
  configuration: string;
  webhook: string;
  round: number;
  operation: AdmissionAttributes['operation'];
  resource: string;
  outcome: 'allowed' | 'patched' | 'denied' | 'failed-open' | 'failed' | 'rejected';
  ms: number;
  error?: string;
}

function dedupe(warnings: string[]): string[] {
  return [...new Set(warnings)];
}

export function createAdmissionChain(deps: AdmissionDeps): AdmissionChain {
  const env = {
    resolveService: deps.resolveService,
    normalize: deps.normalize ?? ((o: KubeObject) => o),
  };

  /** Looks a namespace's labels up once per phase; a missing one is the 404 the real server gives. */
  function namespaceLookup(): (name: string) => Promise<Labels> {
    const cache = new Map<string, Promise<Labels>>();
    return (name) => {
      let p = cache.get(name);
      if (!p) {
        p = (async () => {
          let ns: V1Namespace | undefined;
          try {
            ns = await deps.namespace(name);
          } catch (e) {
            throw new AdmissionError(internalError((e as Error).message));
          }
          if (!ns) throw new AdmissionError(notFound('namespaces', name));
          return namespaceLabels(ns);
        })();
        cache.set(name, p);
      }
      return p;
    };
  }

  async function shouldCall(
    hook: AnyWebhook,
    a: AdmissionAttributes,
    labelsOf: (name: string) => Promise<Labels>,
  ): Promise<boolean> {
    if (!rulesMatch(hook, a)) return false;
    try {
      const lookup = needsNamespaceLookup(hook, a);
      const stored = lookup === undefined ? undefined : await labelsOf(lookup);
      if (!namespaceSelectorMatches(hook, a, stored)) return false;
      return objectSelectorMatches(hook, a);
    } catch (e) {
      if (e instanceof SelectorError) throw new AdmissionError(internalError(e.message));
      throw e;
    }
  }

  function log(
    phase: AdmissionLogEntry['phase'],
    entry: WebhookEntry,
    round: number,
    a: AdmissionAttributes,
    started: number,
    outcome: AdmissionLogEntry['outcome'],
    error?: unknown,
  ) {
    if (!deps.log) return;
    const r = a.resource;
    const resource = `${r.group ? `${r.group}/` : ''}${r.version}/${r.resource}${a.subResource ? `/${a.subResource}` : ''}`;
    deps.log({
      phase,
      configuration: entry.configuration,
      webhook: entry.webhook.name,
      round,
      operation: a.operation,
      resource,
      outcome,
      ms: Date.now() - started,
      ...(error ? { error: (error as Error).message } : {}),
    });
  }

  async function mutate(a: AdmissionAttributes) {
    if (isWebhookConfigurationResource(a)) return { object: a.object, warnings: [] };
    const hooks = orderMutating((await deps.webhookConfigurations()).mutating);
    const labelsOf = namespaceLookup();
    const warnings: string[] = [];
    let object = a.object;
    // Reinvocation bookkeeping, by webhook uid, as the real dispatcher keeps it.
    let previouslyInvoked = new Set<string>();
    const toReinvoke = new Set<string>();
    let reinvokeRound = false;

    for (const round of [0, 1]) {
      if (round === 1 && !reinvokeRound) break;
      for (const entry of hooks) {
        const current: AdmissionAttributes = { ...a, object };
        let matches: boolean;
        try {
          matches = await shouldCall(entry.webhook, current, labelsOf);
        } catch (e) {
          if (e instanceof ApiError) throw new AdmissionError(e.status, dedupe(warnings));
          throw e;
        }
        if (!matches) continue;
        // A webhook not called in the first round is never called for the first time in the second.
        if (round === 1 && !toReinvoke.has(entry.uid)) continue;
        const started = Date.now();
        let outcome: CallOutcome | undefined;
        let failure: unknown;
        try {
          outcome = await callWebhook(entry, true, current, object, warnings, env);
        } catch (e) {
          failure = e;
        }
        if (outcome?.changed) {
          for (const uid of previouslyInvoked) toReinvoke.add(uid);
          previouslyInvoked = new Set();
          reinvokeRound = true;
        }
        if ((entry.webhook as V1MutatingWebhook).reinvocationPolicy === 'IfNeeded') {
          previouslyInvoked.add(entry.uid);
        }
        if (outcome) {
          object = outcome.object;
          log('mutating', entry, round, a, started, outcome.changed ? 'patched' : 'allowed');
          continue;
        }
        if (failure instanceof CallFailure) {
          if (entry.failurePolicy === 'Ignore') {
            log('mutating', entry, round, a, started, 'failed-open', failure);
            continue;
          }
          log('mutating', entry, round, a, started, 'failed', failure);
          throw new AdmissionError(internalError(failure.message), dedupe(warnings));
        }
        const denied = failure instanceof AdmissionError;
        log('mutating', entry, round, a, started, denied ? 'denied' : 'rejected', failure);
        if (failure instanceof ApiError) {
          throw new AdmissionError(failure.status, dedupe(warnings));
        }
        throw failure;
      }
    }
    return { object, warnings: dedupe(warnings) };
  }

  async function validate(a: AdmissionAttributes) {
    if (isWebhookConfigurationResource(a)) return { warnings: [] };
    const hooks = orderValidating((await deps.webhookConfigurations()).validating);
    const labelsOf = namespaceLookup();
    const relevant: WebhookEntry[] = [];
    for (const entry of hooks) {
      if (await shouldCall(entry.webhook, a, labelsOf)) relevant.push(entry);
    }
    const warnings: string[] = [];
    // All at once; errors are kept in the order they arrive, the first one answers.
    const errors: ApiError[] = [];
    await Promise.all(
      relevant.map(async (entry) => {
        const started = Date.now();
        try {
          await callWebhook(entry, false, a, a.object, warnings, env);
          log('validating', entry, 0, a, started, 'allowed');
        } catch (e) {
          if (e instanceof CallFailure) {
            if (entry.failurePolicy === 'Ignore') {
              log('validating', entry, 0, a, started, 'failed-open', e);
              return;
            }
            log('validating', entry, 0, a, started, 'failed', e);
            errors.push(new AdmissionError(internalError(e.message)));
            return;
          }
          log(
            'validating',
            entry,
            0,
            a,
            started,
            e instanceof AdmissionError ? 'denied' : 'rejected',
            e,
          );
          if (e instanceof ApiError) {
            errors.push(e);
            return;
          }
          errors.push(new AdmissionError(internalError((e as Error).message)));
        }
      }),
    );
    const first = errors[0];
    if (first) throw new AdmissionError(first.status, dedupe(warnings));
    return { warnings: dedupe(warnings) };
  }

  return { mutate, validate };
}
