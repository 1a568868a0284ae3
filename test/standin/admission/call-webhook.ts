// One webhook call as kube-apiserver v1.24 makes it
// (callAttrMutatingHook / callHook in the webhook dispatchers): the dry-run
// check, the AdmissionReview in the webhook's preferred version, the HTTPS
// POST, the answer check, and for a mutating webhook the patch. It throws:
// - CallFailure (webhookutil.ErrCallingWebhook): the webhook could not be
//   asked or answered nonsense; the only failure failurePolicy Ignore forgives;
// - AdmissionError: a denial (the webhook's own code), a dry run the webhook
//   cannot take (400), a patch that does not apply or an object that cannot
//   be patched (500).
import fastJsonPatch from 'fast-json-patch';
import { postReview, webhookEndpoint, CallError, type ResolveService } from './https-call.ts';
import { applyPatch, decodePatch, PatchError } from './json-patch.ts';
import { buildAdmissionReview } from './review.ts';
import {
  InvalidResponseError,
  UndecodableResponseError,
  verifyAdmissionResponse,
  type VerifiedResponse,
} from './response.ts';
import type { AdmissionAttributes, KubeObject } from './seam.ts';
import { AdmissionError, badRequest, denial, internalError } from './status.ts';
import type { WebhookEntry } from './webhooks.ts';

export class CallFailure extends Error {
  constructor(webhookName: string, reason: string) {
    super(`failed calling webhook "${webhookName}": ${reason}`);
    this.name = 'CallFailure';
  }
}

export interface CallEnvironment {
  resolveService: ResolveService;
  /** The patched object as the server decodes and defaults it. */
  normalize(object: KubeObject): KubeObject;
}

export interface CallOutcome {
  response: VerifiedResponse;
  /** The object after this webhook's patch (the same object when it sent none). */
  object: KubeObject | null;
  changed: boolean;
}

/** One webhook call; throws CallFailure, AdmissionError (denial) or ApiError. */
export async function callWebhook(
  entry: WebhookEntry,
  mutating: boolean,
  a: AdmissionAttributes,
  object: KubeObject | null,
  warnings: string[],
  env: CallEnvironment,
): Promise<CallOutcome> {
  const hook = entry.webhook;
  if (a.dryRun) {
    if (!hook.sideEffects) throw new CallFailure(hook.name, 'Webhook SideEffects is nil');
    if (hook.sideEffects !== 'None' && hook.sideEffects !== 'NoneOnDryRun') {
      throw new AdmissionError(
        badRequest(`admission webhook "${hook.name}" does not support dry run`),
      );
    }
  }
  // The first version in the webhook's list that the server knows.
  const version = (hook.admissionReviewVersions ?? []).find(
    (v): v is 'v1' | 'v1beta1' => v === 'v1' || v === 'v1beta1',
  );
  if (!version) {
    throw new CallFailure(
      hook.name,
      'could not create admission objects: webhook does not accept known AdmissionReview versions (v1, v1beta1)',
    );
  }
  let endpoint;
  try {
    endpoint = await webhookEndpoint(hook.clientConfig, entry.timeoutSeconds, env.resolveService);
  } catch (e) {
    if (e instanceof CallError && e.clientConfig) {
      throw new CallFailure(hook.name, `could not get REST client: ${e.message}`);
    }
    throw new CallFailure(hook.name, `failed to call webhook: ${(e as Error).message}`);
  }
  const review = buildAdmissionReview(a, object, undefined, version);
  let answer: unknown;
  try {
    answer = await postReview(endpoint, Buffer.from(JSON.stringify(review)), entry.timeoutSeconds);
  } catch (e) {
    throw new CallFailure(hook.name, `failed to call webhook: ${(e as Error).message}`);
  }
  let response: VerifiedResponse;
  try {
    response = verifyAdmissionResponse(review.request.uid, mutating, answer, version);
  } catch (e) {
    if (e instanceof InvalidResponseError) {
      throw new CallFailure(hook.name, `received invalid webhook response: ${e.message}`);
    }
    if (e instanceof UndecodableResponseError) {
      throw new CallFailure(hook.name, `failed to call webhook: ${e.message}`);
    }
    throw e;
  }
  warnings.push(...response.warnings);
  if (!response.allowed) throw new AdmissionError(denial(hook.name, response.result));
  if (!mutating || !response.patch) return { response, object, changed: false };

  let ops;
  try {
    ops = decodePatch(response.patch);
  } catch (e) {
    throw new AdmissionError(internalError((e as Error).message));
  }
  if (ops.length === 0) return { response, object, changed: false };
  if (object === null) {
    throw new AdmissionError(
      internalError(
        `admission webhook "${hook.name}" attempted to modify the object, which is not supported for this operation`,
      ),
    );
  }
  if (response.patchType !== 'JSONPatch') {
    throw new CallFailure(hook.name, `unsupported patch type "${response.patchType}"`);
  }
  let patched: KubeObject;
  try {
    patched = env.normalize(applyPatch(object, ops));
  } catch (e) {
    const msg = e instanceof PatchError || e instanceof Error ? e.message : String(e);
    throw new AdmissionError(internalError(msg));
  }
  const changed = !fastJsonPatch._areEquals(object, patched);
  return { response, object: patched, changed };
}
