import { describe, expect, it } from 'vitest';
import { deepFreeze, lruMemo } from '../../webhook/src/lru-memo.ts';

describe('the bounded memo', () => {
  it('computes once per key and drops the least recently used past its size', () => {
    const memo = lruMemo<number>(2, 100);
    let computed = 0;
    const get = (k: string) => memo.get(k, () => ++computed);
    expect([get('a'), get('b'), get('a')]).toEqual([1, 2, 1]);
    get('c'); // evicts b, the least recently used
    expect(memo.size).toBe(2);
    expect(get('a')).toBe(1);
    expect(get('b')).toBe(4);
  });

  it('keeps nothing for a key over its length limit', () => {
    const memo = lruMemo<number>(10, 8);
    let computed = 0;
    const long = 'x'.repeat(9);
    expect(memo.get(long, () => ++computed)).toBe(1);
    expect(memo.get(long, () => ++computed)).toBe(2);
    expect(memo.size).toBe(0);
  });

  it('freezes nested values', () => {
    const v = deepFreeze({ a: [{ b: 1 }] });
    expect(Object.isFrozen(v.a[0])).toBe(true);
    expect(() => v.a.push({ b: 2 })).toThrow(TypeError);
  });
});
