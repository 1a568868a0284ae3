// The webhook list kube-apiserver works from: configurations sorted by name
// (their order in the store is arbitrary), then each configuration's webhooks
// in the order the user wrote them. Each webhook gets the uid the real server
// gives it (configuration/webhook/n, n counting duplicate names) and its
// v1 defaults, so the rest of the chain never has to guess.
import type {
  V1MutatingWebhook,
  V1MutatingWebhookConfiguration,
  V1ValidatingWebhook,
  V1ValidatingWebhookConfiguration,
} from '@kubernetes/client-node';

export type AnyWebhook = V1MutatingWebhook | V1ValidatingWebhook;

export interface WebhookEntry<H extends AnyWebhook = AnyWebhook> {
  uid: string;
  configuration: string;
  webhook: H;
  failurePolicy: 'Fail' | 'Ignore';
  timeoutSeconds: number;
  /** Always Never for validating webhooks. */
  reinvocationPolicy: 'Never' | 'IfNeeded';
}

type Configuration = V1MutatingWebhookConfiguration | V1ValidatingWebhookConfiguration;

function ordered<H extends AnyWebhook>(
  configs: Configuration[],
  webhooksOf: (c: Configuration) => H[],
): WebhookEntry<H>[] {
  const byName = [...configs].sort((a, b) => {
    const x = a.metadata?.name ?? '';
    const y = b.metadata?.name ?? '';
    return x < y ? -1 : x > y ? 1 : 0;
  });
  const out: WebhookEntry<H>[] = [];
  for (const c of byName) {
    const configuration = c.metadata?.name ?? '';
    const seen = new Map<string, number>();
    for (const webhook of webhooksOf(c)) {
      const n = seen.get(webhook.name) ?? 0;
      seen.set(webhook.name, n + 1);
      const reinvocation = (webhook as V1MutatingWebhook).reinvocationPolicy;
      out.push({
        uid: `${configuration}/${webhook.name}/${n}`,
        configuration,
        webhook,
        failurePolicy: webhook.failurePolicy === 'Ignore' ? 'Ignore' : 'Fail',
        timeoutSeconds: webhook.timeoutSeconds ?? 10,
        reinvocationPolicy: reinvocation === 'IfNeeded' ? 'IfNeeded' : 'Never',
      });
    }
  }
  return out;
}

export function orderMutating(
  configs: V1MutatingWebhookConfiguration[],
): WebhookEntry<V1MutatingWebhook>[] {
  return ordered(configs, (c) => (c as V1MutatingWebhookConfiguration).webhooks ?? []);
}

export function orderValidating(
  configs: V1ValidatingWebhookConfiguration[],
): WebhookEntry<V1ValidatingWebhook>[] {
  return ordered(configs, (c) => (c as V1ValidatingWebhookConfiguration).webhooks ?? []);
}
