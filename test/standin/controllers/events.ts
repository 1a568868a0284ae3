// core/v1 Events as controllers record them, once per distinct message (a
// repeat bumps count and lastTimestamp, as client-go's recorder does).

import { randomBytes } from 'node:crypto';
import type { CoreV1Event, KubernetesObject } from '@kubernetes/client-node';
import { describeError, mergePatch, type Clients, type Logger } from './kube.ts';

export interface EventRecorder {
  /** `kind` is "apiVersion/Kind" or "Kind" (core): list items carry no kind of their own. */
  record(
    obj: KubernetesObject,
    kind: string,
    type: 'Normal' | 'Warning',
    reason: string,
    message: string,
  ): Promise<void>;
}

export function eventRecorder(clients: Clients, component: string, log: Logger): EventRecorder {
  const seen = new Map<string, { name: string; namespace: string; count: number }>();
  return {
    async record(obj, kind, type, reason, message) {
      const slash = kind.lastIndexOf('/');
      const namespace = obj.metadata?.namespace || 'default';
      const key = `${obj.metadata?.uid ?? ''}|${type}|${reason}|${message}`;
      const now = new Date();
      const prior = seen.get(key);
      try {
        if (prior !== undefined) {
          prior.count++;
          await clients.core.patchNamespacedEvent(
            {
              name: prior.name,
              namespace: prior.namespace,
              body: { count: prior.count, lastTimestamp: now },
            },
            mergePatch,
          );
          return;
        }
        const name = `${obj.metadata?.name ?? 'unknown'}.${randomBytes(8).toString('hex')}`;
        const event: CoreV1Event = {
          metadata: { name, namespace },
          involvedObject: {
            apiVersion: slash < 0 ? 'v1' : kind.slice(0, slash),
            kind: kind.slice(slash + 1),
            name: obj.metadata?.name,
            namespace: obj.metadata?.namespace,
            uid: obj.metadata?.uid,
            resourceVersion: obj.metadata?.resourceVersion,
          },
          reason,
          message,
          type,
          count: 1,
          firstTimestamp: now,
          lastTimestamp: now,
          source: { component },
          reportingComponent: component,
          reportingInstance: component,
        };
        seen.set(key, { name, namespace, count: 1 });
        await clients.core.createNamespacedEvent({ namespace, body: event });
      } catch (err) {
        // An event that cannot be written must not stop the controller.
        log(`event ${reason} on ${kind}/${obj.metadata?.name}: ${describeError(err)}`);
      }
    },
  };
}
