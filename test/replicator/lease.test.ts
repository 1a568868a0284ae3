import { describe, expect, it } from 'vitest';
import { leaseBody, mayHold, releasedLease, viewOf } from '../../replicator/src/lease.ts';
import { parseSendSummary } from '../../replicator/src/source.ts';

const t0 = new Date('2026-11-26T07:00:00Z');
const later = (s: number) => new Date(t0.getTime() + s * 1000);

describe('the replicator lease', () => {
  it('may be taken when free, mine, or expired, and not while another holds it', () => {
    expect(mayHold(undefined, 'a', t0)).toBe(true);
    const held = viewOf(leaseBody('l', 'ns', 'b', t0, 15));
    expect(mayHold(held, 'a', later(10))).toBe(false);
    expect(mayHold(held, 'b', later(10))).toBe(true);
    expect(mayHold(held, 'a', later(16))).toBe(true);
  });

  it('keeps the resourceVersion for optimistic concurrency and counts transitions', () => {
    const first = leaseBody('l', 'ns', 'b', t0, 15);
    first.metadata!.resourceVersion = '42';
    const renewed = leaseBody('l', 'ns', 'b', later(5), 15, first);
    expect(renewed.metadata?.resourceVersion).toBe('42');
    expect(renewed.spec?.acquireTime).toEqual(t0);
    expect(renewed.spec?.leaseTransitions).toBe(0);
    const taken = leaseBody('l', 'ns', 'a', later(20), 15, renewed);
    expect(taken.spec).toMatchObject({ holderIdentity: 'a', leaseTransitions: 1 });
    expect(taken.spec?.acquireTime).toEqual(later(20));
  });
});

describe('releasing the lease on the way out', () => {
  it('frees it at its resourceVersion, and only for its holder', () => {
    const held = leaseBody('l', 'ns', 'b', t0, 15);
    held.metadata!.resourceVersion = '7';
    const patch = releasedLease(held, 'b', later(3))!;
    expect(patch.metadata.resourceVersion).toBe('7');
    const freed = { ...held, spec: { ...held.spec, ...patch.spec } };
    expect(mayHold(viewOf(freed), 'a', later(3))).toBe(true);
    expect(releasedLease(held, 'a', later(3))).toBeUndefined();
    expect(releasedLease(undefined, 'b', later(3))).toBeUndefined();
  });
});

describe("the sender's summary", () => {
  it('is the last JSON line with a result', () => {
    const log = [
      'starting',
      JSON.stringify({ type: 'progress', percent: 50 }),
      JSON.stringify({ result: 'succeeded', files: 3, wireBytes: 1200 }),
      '',
    ].join('\n');
    expect(parseSendSummary(log)).toMatchObject({ files: 3, wireBytes: 1200 });
    expect(parseSendSummary('garbage')).toEqual({});
    expect(
      parseSendSummary(
        'error: the client key "/keys/client_ed25519.pub" is a public key: give the private key ("/keys/client_ed25519")\n',
      ),
    ).toEqual({
      error:
        'the client key "/keys/client_ed25519.pub" is a public key: give the private key ("/keys/client_ed25519")',
    });
  });
});
