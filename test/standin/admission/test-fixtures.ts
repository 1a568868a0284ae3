// Access to the kube-apiserver v1.24 captures (read-only) for the admission
// tests, and the step back from a captured AdmissionReview to the attributes
// the stand-in's REST server would hand the chain for the same request.
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { kubeFixturesDir } from '../../support/fixtures.ts';
import type { AdmissionRequest, AdmissionReviewRequest } from './review.ts';
import { createOptions, deleteOptions, updateOptions } from './review.ts';
import type { AdmissionAttributes } from './seam.ts';

export const FIXTURES = process.env.SCRIBE_KUBE_FIXTURES ?? kubeFixturesDir;

export function fixtureText(rel: string): string {
  return readFileSync(join(FIXTURES, rel), 'utf8');
}

export function fixture<T = unknown>(rel: string): T {
  return JSON.parse(fixtureText(rel)) as T;
}

/** The captured AdmissionReview files, by name. */
export function admissionFixtures(): string[] {
  return readdirSync(join(FIXTURES, 'admission'))
    .filter((f) => /^\d{4}-.*\.json$/.test(f))
    .sort();
}

type Options = {
  kind: string;
  dryRun?: string[];
  fieldManager?: string;
  fieldValidation?: string;
  gracePeriodSeconds?: number;
  propagationPolicy?: string;
};

/**
 * The attributes behind a captured review. The options are rebuilt with the
 * chain's own option builders from their values (not copied), so a test
 * comparing the result with the capture also checks their shape and order.
 */
export function attributesFromReview(review: AdmissionReviewRequest): AdmissionAttributes {
  const r: AdmissionRequest = review.request;
  const o = r.options as Options;
  const options =
    o.kind === 'DeleteOptions'
      ? deleteOptions({
          gracePeriodSeconds: o.gracePeriodSeconds,
          propagationPolicy: o.propagationPolicy,
          dryRun: o.dryRun,
        })
      : (o.kind === 'CreateOptions' ? createOptions : updateOptions)({
          dryRun: o.dryRun,
          fieldManager: o.fieldManager,
          fieldValidation: o.fieldValidation,
        });
  const a: AdmissionAttributes = {
    operation: r.operation,
    kind: { group: r.kind.group, version: r.kind.version, kind: r.kind.kind },
    resource: {
      group: r.resource.group,
      version: r.resource.version,
      resource: r.resource.resource,
    },
    object: r.object,
    oldObject: r.oldObject,
    dryRun: r.dryRun,
    options,
    userInfo: {
      username: r.userInfo.username ?? '',
      groups: r.userInfo.groups ?? [],
      ...(r.userInfo.uid ? { uid: r.userInfo.uid } : {}),
    },
  };
  if (r.subResource) a.subResource = r.subResource;
  if (r.name) a.name = r.name;
  if (r.namespace) a.namespace = r.namespace;
  return a;
}
