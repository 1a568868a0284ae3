// The replication model shared by the plugin, the webhook and the in-cluster
// server: import it from here.
export * from './keys.ts';
export * from './methods.ts';
export * from './values.ts';
export * from './spec.ts';
export * from './status.ts';
export * from './targets.ts';
export * from './volume-mode.ts';
export * from './labels.ts';
export * from './read-only-copy.ts';
export * from './quiesce.ts';
export * from './pods.ts';
