import { describe, expect, it } from 'vitest';
import { specPrefix, statusPrefix } from '../../model/src/index.ts';
import { OLDEST, capabilitiesOf } from '../../webhook/src/server-capabilities.ts';
import {
  claimMatchConditions,
  mutatingWebhookConfiguration,
  podMatchConditions,
  validatingWebhookConfiguration,
} from '../../webhook/src/webhook-configurations.ts';
import { fixture } from './support/fixtures.ts';

const base = {
  namespace: 'scribe-system',
  service: 'scribe-webhook',
  annotationPrefixes: [specPrefix, statusPrefix],
};

describe('webhook configuration builders', () => {
  it('reads server versions as managed clusters report them', () => {
    expect(capabilitiesOf(fixture('discovery/version.json'))).toEqual({
      major: 1,
      minor: 24,
      matchConditions: false,
      nativeSidecars: false,
    });
    expect(capabilitiesOf({ major: '1', minor: '27' }).matchConditions).toBe(false);
    expect(capabilitiesOf({ major: '1', minor: '28+' })).toMatchObject({
      matchConditions: true,
      nativeSidecars: false,
    });
    expect(capabilitiesOf({ major: '1', minor: '33' })).toMatchObject({
      matchConditions: true,
      nativeSidecars: true,
    });
    expect(() => capabilitiesOf({ major: '1', minor: '' })).toThrow(
      /cannot read the API server's minor version ""/,
    );
  });

  it('adds matchConditions only where the server has them, and fails the claim webhook closed only then', () => {
    const old = validatingWebhookConfiguration({ ...base, capabilities: OLDEST }).webhooks![0]!;
    expect(old.matchConditions).toBeUndefined();
    expect(old.failurePolicy).toBe('Ignore');
    const now = validatingWebhookConfiguration({
      ...base,
      capabilities: capabilitiesOf({ major: '1', minor: '30' }),
    }).webhooks![0]!;
    expect(now.matchConditions).toEqual(claimMatchConditions([specPrefix, statusPrefix]));
    expect(now.failurePolicy).toBe('Fail');
    expect(
      mutatingWebhookConfiguration({ ...base, capabilities: OLDEST }).webhooks![0]!.matchConditions,
    ).toBeUndefined();
    expect(
      mutatingWebhookConfiguration({
        ...base,
        capabilities: capabilitiesOf({ major: '1', minor: '30' }),
      }).webhooks![0]!.matchConditions,
    ).toEqual(podMatchConditions());
  });

  it('writes the prefixes from the model into the CEL expression, quoted', () => {
    expect(claimMatchConditions(['a.io/', "it's/"])[0]!.expression).toBe(
      "(has(object.metadata.annotations) && object.metadata.annotations.exists(k, k.startsWith('a.io/') || k.startsWith('it\\'s/'))) || (oldObject != null && (has(oldObject.metadata.annotations) && oldObject.metadata.annotations.exists(k, k.startsWith('a.io/') || k.startsWith('it\\'s/'))))",
    );
  });

  it('can point at a URL (development, the stand-in) with a caBundle, instead of the Service', () => {
    const m = mutatingWebhookConfiguration({
      ...base,
      capabilities: OLDEST,
      url: 'https://127.0.0.1:8443/',
      caBundle: 'Q0E=',
    });
    expect(m.webhooks![0]!.clientConfig).toEqual({
      url: 'https://127.0.0.1:8443/mutate/pods',
      caBundle: 'Q0E=',
    });
    const v = validatingWebhookConfiguration({
      ...base,
      capabilities: OLDEST,
      url: 'https://127.0.0.1:8443',
    });
    expect(v.webhooks![0]!.clientConfig).toEqual({
      url: 'https://127.0.0.1:8443/validate/persistentvolumeclaims',
    });
  });

  it("keeps the shape the captured apiserver stored, less the capture's choices", () => {
    // The stored capture config: the apiserver defaulted matchPolicy, objectSelector, reinvocationPolicy, scope.
    const stored = fixture<{ webhooks: Record<string, unknown>[] }>(
      'webhook/mutatingwebhookconfiguration.stored.json',
    ).webhooks[0]!;
    const ours = mutatingWebhookConfiguration({ ...base, capabilities: OLDEST })
      .webhooks![0]! as unknown as Record<string, unknown>;
    for (const key of [
      'admissionReviewVersions',
      'clientConfig',
      'failurePolicy',
      'matchPolicy',
      'name',
      'namespaceSelector',
      'reinvocationPolicy',
      'rules',
      'sideEffects',
      'timeoutSeconds',
    ]) {
      expect(Object.keys(ours), key).toContain(key);
      expect(Object.keys(stored), key).toContain(key);
    }
  });
});
