// The kubeconfig file format as kubectl reads it (clientcmd/api/v1), only the
// fields Scribe passes on. Names are the file's keys, not the client library's.

export interface RawCluster {
  server?: string;
  'certificate-authority'?: string;
  'certificate-authority-data'?: string;
  'insecure-skip-tls-verify'?: boolean;
  'tls-server-name'?: string;
  'proxy-url'?: string;
}

export interface RawExecConfig {
  command: string;
  args?: string[] | null;
  env?: { name: string; value: string }[] | null;
  apiVersion?: string;
  interactiveMode?: string;
  provideClusterInfo?: boolean;
}

export interface RawUser {
  token?: string;
  tokenFile?: string;
  'client-certificate'?: string;
  'client-certificate-data'?: string;
  'client-key'?: string;
  'client-key-data'?: string;
  username?: string;
  password?: string;
  as?: string;
  exec?: RawExecConfig;
  'auth-provider'?: { name: string; config?: Record<string, string> };
}

export interface RawContext {
  cluster?: string;
  user?: string;
  namespace?: string;
}

export interface Named<T> {
  name: string;
  value: T;
}

/** A kubeconfig after kubectl's merge: every name once, file paths absolute. */
export interface MergedKubeconfig {
  currentContext: string;
  clusters: Named<RawCluster>[];
  users: Named<RawUser>[];
  contexts: Named<RawContext>[];
  /** The files that were read, in precedence order (for error messages). */
  files: string[];
}

/** The flags kubectl uses to pick and override parts of the kubeconfig. */
export interface KubeconfigOverrides {
  kubeconfig?: string;
  context?: string;
  cluster?: string;
  user?: string;
  namespace?: string;
}

/** One context, resolved: what a client needs to reach one cluster as one user. */
export interface ResolvedConfig {
  /** The context's name ("" when no context is named, e.g. flags only). */
  contextName: string;
  clusterName: string;
  userName: string;
  cluster: RawCluster & { server: string };
  user: RawUser;
  namespace: string;
  /** True when -n was given (kubectl's "explicit namespace"). */
  namespaceExplicit: boolean;
  inCluster: boolean;
}
