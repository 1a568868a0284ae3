// The stand-in's admission chain: webhooks called over HTTPS the way
// kube-apiserver v1.24 calls them. The REST server creates one chain with
// createAdmissionChain(deps) and calls mutate/validate around persisting; the
// option builders give it the CreateOptions/UpdateOptions/DeleteOptions the
// real server hands to admission.
export { createAdmissionChain, type AdmissionDeps, type AdmissionLogEntry } from './chain.ts';
export type { ServiceRef, ResolveService } from './https-call.ts';
export { createOptions, updateOptions, deleteOptions, buildAdmissionReview } from './review.ts';
export { AdmissionError } from './status.ts';
export type { AdmissionAttributes, AdmissionChain, KubeObject } from './seam.ts';
