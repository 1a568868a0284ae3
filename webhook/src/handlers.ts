import type { AdmissionHandler } from './http-edge.ts';
import { validateClaim } from './claim-validation.ts';
import { type InjectionContext, injectLiveSidecars } from './pod-injection.ts';

// The two webhooks: pure decisions wrapped for the edge's metrics and logs.
export function createHandlers(ctx: InjectionContext): {
  mutate: AdmissionHandler;
  validate: AdmissionHandler;
} {
  return {
    mutate: (req) => {
      const r = injectLiveSidecars(req, ctx);
      return { decision: r.decision, injected: r.injected.length };
    },
    validate: (req) => {
      const v = validateClaim(req);
      return { decision: v.decision, reason: v.reason };
    },
  };
}
