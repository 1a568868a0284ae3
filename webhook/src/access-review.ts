import type { V1SubjectAccessReview, V1SubjectAccessReviewStatus } from '@kubernetes/client-node';
import type { KubeClient } from './kube-client.ts';

// The edge that asks the API server a SubjectAccessReview. Bounded by a
// deadline shorter than the webhook configuration's timeoutSeconds: the
// webhook must answer with its own denial before the API server gives up on
// it and applies the failurePolicy (Ignore on servers without
// matchConditions, which would let the write through).

export type AccessReviewer = (
  review: V1SubjectAccessReview,
) => Promise<V1SubjectAccessReviewStatus | undefined>;

export const SUBJECT_ACCESS_REVIEWS = '/apis/authorization.k8s.io/v1/subjectaccessreviews';

export function accessReviewer(kube: KubeClient, timeoutMs: number): AccessReviewer {
  return async (review) => {
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`the API server did not answer within ${timeoutMs} ms`)),
        timeoutMs,
      );
    });
    try {
      const answer = await Promise.race([
        kube.request<V1SubjectAccessReview>('POST', SUBJECT_ACCESS_REVIEWS, {
          body: review,
          timeoutMs,
        }),
        deadline,
      ]);
      return answer.status;
    } finally {
      clearTimeout(timer);
    }
  };
}
