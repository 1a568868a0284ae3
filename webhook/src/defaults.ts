// Each object is at most ~1.5 MiB (etcd's request limit); an UPDATE carries
// two of them plus the envelope, so 8 MiB is generous but bounded.
export const DEFAULT_MAX_BODY_BYTES = 8 * 1024 * 1024;

// A SubjectAccessReview must come back well within the webhook configuration's
// timeoutSeconds (3 s): past it the API server applies the failurePolicy
// instead of the webhook's denial.
export const ACCESS_REVIEW_TIMEOUT_MS = 2_000;
