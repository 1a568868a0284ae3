import type { AccessReviewer } from './access-review.ts';
import { validateClaim } from './claim-validation.ts';
import type { AdmissionHandler } from './http-edge.ts';
import { type InjectionContext, injectLiveSidecars } from './pod-injection.ts';
import {
  execAccessReview,
  execCheckFailed,
  execQuestion,
  execVerdict,
} from './quiesce-authorization.ts';

// The two webhooks: pure decisions wrapped for the edge's metrics and logs.
// The claim webhook asks the API server only when a quiesce hook is set.
export function createHandlers(
  ctx: InjectionContext,
  reviewAccess: AccessReviewer,
): {
  mutate: AdmissionHandler;
  validate: AdmissionHandler;
} {
  return {
    mutate: (req) => {
      const r = injectLiveSidecars(req, ctx);
      return { decision: r.decision, injected: r.injected.length };
    },
    validate: async (req) => {
      const v = validateClaim(req);
      if (!v.decision.allowed) return { decision: v.decision, reason: v.reason };
      const q = execQuestion(req);
      if (!q) return { decision: v.decision, reason: v.reason };
      let verdict;
      try {
        verdict = execVerdict(q, await reviewAccess(execAccessReview(q)));
      } catch (err) {
        const error = (err as Error).message;
        return { decision: execCheckFailed(q, error), reason: 'access-review-failed', error };
      }
      if (!verdict.allowed) return { decision: verdict, reason: 'quiesce-unauthorized' };
      return { decision: v.decision, reason: v.reason };
    },
  };
}
