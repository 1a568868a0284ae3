// The seam between the stand-in API server and this admission chain
// (docs/architecture.md), owned by the REST server; re-exported here so the
// rest of this folder has one place to import it from.
export {
  ApiError,
  type AdmissionAttributes,
  type AdmissionChain,
  type KubeObject,
} from '../api/admission-seam.ts';
