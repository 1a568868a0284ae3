// What the cluster's API server can do, from its /version. Each feature is
// used only where it is on by default, so the webhook works from 1.24 on.

export interface ServerVersion {
  major: string;
  minor: string;
  gitVersion?: string;
}

export interface ServerCapabilities {
  major: number;
  minor: number;
  // Webhook matchConditions: alpha (off) in 1.27, beta and on by default in 1.28.
  matchConditions: boolean;
  // Init containers with restartPolicy Always: beta and on by default in 1.29.
  // 1.24 silently drops the field (fixtures/kube-1.24/webhook/native-sidecar-injection.json),
  // which would leave a never-ending init container blocking the pod.
  nativeSidecars: boolean;
}

function leadingInt(s: string, what: string): number {
  // Managed clusters report minors such as "29+".
  const m = /^(\d+)/.exec(s.trim());
  if (!m) throw new Error(`cannot read the API server's ${what} version ${JSON.stringify(s)}`);
  return Number(m[1]);
}

export function capabilitiesOf(v: ServerVersion): ServerCapabilities {
  const major = leadingInt(v.major, 'major');
  const minor = leadingInt(v.minor, 'minor');
  const atLeast = (min: number) => major > 1 || (major === 1 && minor >= min);
  return { major, minor, matchConditions: atLeast(28), nativeSidecars: atLeast(29) };
}

// The oldest supported server: what to assume when the version is unknown.
export const OLDEST: ServerCapabilities = {
  major: 1,
  minor: 24,
  matchConditions: false,
  nativeSidecars: false,
};
