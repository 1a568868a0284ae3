import { describe, expect, it } from 'vitest';
import {
  type AdmissionDecision,
  type JsonPatchOperation,
  allow,
  deny,
  serializeReview,
  toReview,
} from '../../webhook/src/admission-review.ts';
import { deepFreeze } from '../../webhook/src/lru-memo.ts';

// The text the server writes must be exactly the review toReview describes,
// whether or not it came from the kept text of a memoized patch.
const UIDS = ['705ab4f5-6393-11e8-b7cc-42010a800002', 'quote" back\\slash \u2028 ünï'];

function patch(): JsonPatchOperation[] {
  return [
    { op: 'add', path: '/metadata/annotations/scribe.backube~1injected', value: 'a"b' },
    { op: 'add', path: '/spec/containers/-', value: { name: 'scribe-mover', args: ['\n'] } },
  ];
}

describe('serializeReview', () => {
  const decisions: [string, AdmissionDecision][] = [
    ['a plain allow', allow()],
    ['an allow with warnings', allow(['live copy is not crash-consistent: "quiesce" it'])],
    ['a denial', deny('metadata.annotations["scribe.backube/method"]: "x" is not one of …', 422)],
    ['an unfrozen patch', { allowed: true, patch: patch() }],
    ['a frozen patch', { allowed: true, patch: deepFreeze(patch()) }],
    [
      'a frozen patch with warnings',
      { allowed: true, patch: deepFreeze(patch()), warnings: ['w"1'] },
    ],
    ['an empty frozen patch', { allowed: true, patch: deepFreeze([] as JsonPatchOperation[]) }],
  ];
  for (const [what, decision] of decisions) {
    it(`writes ${what} as toReview describes it`, () => {
      for (const uid of UIDS) {
        // Twice: the second answer for a frozen patch comes from the kept text.
        for (let i = 0; i < 2; i++) {
          const text = serializeReview(uid, decision);
          expect(JSON.parse(text)).toEqual(toReview(uid, decision));
        }
      }
    });
  }
});
