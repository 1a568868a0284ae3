// Which pods use a claim, for failover, reverse and migrate.
import type { V1Pod } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { applicationUsers, podNames, runningUsers } from '../../plugin/src/plan/pods.ts';
import { workloadsUsing } from '../../plugin/src/plan/migrate.ts';

const pod = (name: string, claim: string, phase: string, managedBy?: string): V1Pod => ({
  metadata: {
    name,
    ...(managedBy ? { labels: { 'app.kubernetes.io/managed-by': managedBy } } : {}),
    ownerReferences: [
      { apiVersion: 'apps/v1', kind: 'StatefulSet', name: 'db', uid: 'u', controller: true },
    ],
  },
  spec: { containers: [], volumes: [{ name: 'v', persistentVolumeClaim: { claimName: claim } }] },
  status: { phase },
});

const pods = [
  pod('db-0', 'data', 'Running'),
  pod('db-old', 'data', 'Succeeded'),
  pod('recv', 'data', 'Running', 'scribe'),
  pod('endpoint', 'data', 'Pending', 'kubectl-scribe'),
  pod('other', 'logs', 'Running'),
];

describe('pods using a claim', () => {
  it('running users are those that mount it and have not finished', () => {
    expect(podNames(runningUsers(pods, 'data'))).toEqual(['db-0', 'recv', 'endpoint']);
  });

  it("the application's are those Scribe did not make", () => {
    expect(podNames(applicationUsers(pods, 'data'))).toEqual(['db-0']);
  });

  it('migrate scales the workloads of running users only', () => {
    expect(workloadsUsing('data', [pods[0]!, pods[1]!], [])).toEqual([
      { kind: 'StatefulSet', name: 'db' },
    ]);
  });
});
