// Differential test: each scripted sequence (differential-scripts.ts) runs against the gRPC
// API over the in-memory port and against a real etcd 3.4 started here on free ports with a
// temporary data dir; the normalised transcripts must be equal entry by entry (revisions,
// values, versions, flags, event order, error codes and messages; ids, terms and timings
// excluded, see support/differential.ts). Fails under CI=true when etcd is missing.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { missingBinaries } from '../../support/binaries.js';
import { startEtcd, type EtcdCluster } from '../../support/etcd.js';
import { scripts } from './differential-scripts.js';
import { runScript } from './support/differential.js';
import { startApi, type RunningApi } from './support/api-server.js';

const skip = missingBinaries('etcd');

describe.skipIf(skip !== undefined)('the gRPC API answers like etcd 3.4', () => {
  let etcd: EtcdCluster;
  let api: RunningApi;

  beforeAll(async () => {
    [etcd, api] = await Promise.all([startEtcd(), startApi()]);
  });

  afterAll(async () => {
    await Promise.all([etcd?.stop(), api?.stop()]);
  });

  for (const [name, script] of Object.entries(scripts)) {
    it(name, async () => {
      const expected = await runScript({ name: 'etcd 3.4', endpoint: etcd.endpoints[0]! }, script);
      const actual = await runScript({ name: 'conclave api', endpoint: api.endpoint }, script);
      expect(actual).toEqual(expected);
    });
  }
});
