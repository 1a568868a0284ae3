// Which pods use a claim: the model's rules (model/src/pods.ts), shared with
// the replicator's quiesce hooks.
export {
  applicationUsers,
  mounts,
  podNames,
  runningUsers,
  stillRuns,
} from '../../../model/src/index.ts';
