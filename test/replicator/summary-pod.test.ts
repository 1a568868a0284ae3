// Which pod's log holds a sender Job's summary when the Job retried.
import type { V1Pod } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { summaryPod } from '../../replicator/src/source.ts';

const pod = (name: string, job: string, phase: string, created: string): V1Pod => ({
  metadata: { name, labels: { 'job-name': job }, creationTimestamp: new Date(created) },
  status: { phase },
});

describe('summaryPod', () => {
  it('takes the pod that succeeded, wherever the list puts it', () => {
    const pods = [
      pod('send-b', 'send', 'Succeeded', '2026-12-06T10:00:10Z'),
      pod('send-a', 'send', 'Failed', '2026-12-06T10:00:00Z'),
      pod('send-c', 'send', 'Failed', '2026-12-06T10:00:20Z'),
      pod('other', 'other', 'Succeeded', '2026-12-06T10:00:30Z'),
    ];
    expect(summaryPod(pods, 'send')?.metadata?.name).toBe('send-b');
  });

  it('else the newest attempt, and nothing for a Job without pods', () => {
    const pods = [
      pod('send-c', 'send', 'Failed', '2026-12-06T10:00:20Z'),
      pod('send-a', 'send', 'Failed', '2026-12-06T10:00:00Z'),
    ];
    expect(summaryPod(pods, 'send')?.metadata?.name).toBe('send-c');
    expect(summaryPod(pods, 'none')).toBeUndefined();
  });
});
