import { specKeys } from '../../../model/src/index.ts';
import type { AdmissionRequest } from '../../../webhook/src/admission-review.ts';
import { fixture } from './fixtures.ts';

// The fixtures were captured with replication.example.io/* annotations. These
// helpers rewrite only those annotations to Scribe's keys; every other byte of
// the captured AdmissionReview is kept as the apiserver sent it.

const CAPTURED = 'replication.example.io/';

export interface Shape {
  method?: string; // what "rsync" becomes (default: live)
  secret?: string;
  volumeMode?: string; // recorded destination mode (default: the claim's own)
  extra?: Record<string, string>;
  drop?: string[];
}

type Annotated = {
  metadata?: { annotations?: Record<string, string> };
  spec?: { volumeMode?: string };
};

export function scribeAnnotations(
  obj: Annotated,
  shape: Shape = {},
): Record<string, string> | undefined {
  const a = obj.metadata?.annotations;
  if (!a) return a;
  const out: Record<string, string> = {};
  let captured = false;
  for (const [k, v] of Object.entries(a)) {
    if (!k.startsWith(CAPTURED)) {
      out[k] = v;
      continue;
    }
    captured = true;
    const key = k.slice(CAPTURED.length);
    if (key === 'enabled') out[specKeys.replication] = v === 'true' ? 'source' : v;
    else if (key === 'method') out[specKeys.method] = v === 'rsync' ? (shape.method ?? 'live') : v;
    else if (key === 'schedule') out[specKeys.schedule] = v;
    else if (key === 'destination') {
      // ssh://HOST:PORT/NAMESPACE/PVC -> a destination reference and an endpoint
      const u = new URL(v);
      const [ns, pvc] = u.pathname.slice(1).split('/');
      out[specKeys.destination] = `backup/${ns}/${pvc}`;
      out[specKeys.endpoint] = u.host;
    } else out[k] = v;
  }
  if (captured) {
    out[specKeys.secret] = shape.secret ?? 'scribe-keys';
    out[specKeys.volumeMode] = shape.volumeMode ?? obj.spec?.volumeMode ?? 'Filesystem';
    if (!(specKeys.destination in out)) out[specKeys.destination] = 'backup/scribe-fixtures/copy';
    Object.assign(out, shape.extra ?? {});
    for (const k of shape.drop ?? []) delete out[k];
  }
  return out;
}

export interface Review {
  apiVersion: string;
  kind: string;
  request: AdmissionRequest;
}

export function admissionFixture(file: string): Review {
  return fixture<Review>(`admission/${file}`);
}

// A captured AdmissionReview with its claim annotations rewritten.
export function scribeShaped(file: string, shape: Shape = {}): Review {
  const review = admissionFixture(file);
  for (const o of [review.request.object, review.request.oldObject] as (Annotated | null)[]) {
    if (o?.metadata?.annotations) o.metadata.annotations = scribeAnnotations(o, shape);
  }
  return review;
}
