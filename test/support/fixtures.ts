// The kube-apiserver v1.24 captures (see test/fixtures/kube-1.24/README.md),
// copied into the repository from the workplace's shared/ so that a clean
// clone tests against them.
import { fileURLToPath } from 'node:url';

export const kubeFixturesDir = fileURLToPath(new URL('../fixtures/kube-1.24', import.meta.url));
