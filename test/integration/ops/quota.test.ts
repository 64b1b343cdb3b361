// Rows "--quota-backend-bytes 200000 with 8 KB puts" (memory and lmdb engines) and "endpoint
// status while NOSPACE is raised": as in etcd, the put that would take the backend past the
// quota is refused at once with "database space exceeded", the NOSPACE alarm is raised with
// it (alarm list, and Status' errors as `memberID:<id> alarm:NOSPACE`), later puts stay
// refused, and the disarm after deleting + compacting + defragmenting lets writes in again.
import { afterAll, describe, expect, it } from 'vitest';
import { missingBinaries } from '../../support/binaries.js';
import { etcdctl } from '../../support/etcdctl.js';
import { cleanup, startSolo } from '../support/solo.js';

const skip = missingBinaries('etcdctl');
afterAll(cleanup);

const QUOTA = 200_000;
const value = 'x'.repeat(8192);

describe.skipIf(skip !== undefined).each(['memory', 'lmdb'])('the backend quota (%s engine)', (engine) => {
  it('refuses the put that would pass the quota, raises NOSPACE and reports it in endpoint status', async () => {
    const solo = await startSolo(['--engine', engine, '--quota-backend-bytes', String(QUOTA)]);
    let accepted = 0;
    let refusal = '';
    for (let i = 0; i < 60; i++) {
      try {
        await etcdctl([solo.endpoint], ['put', `q/${i}`, value]);
        accepted += 1;
      } catch (error) {
        refusal = (error as Error).message;
        break;
      }
    }
    expect(refusal).toContain('etcdserver: mvcc: database space exceeded');
    // The values accepted fit in the quota (before: all 60, 489 kB, were accepted).
    expect(accepted).toBeGreaterThan(0);
    expect(accepted).toBeLessThanOrEqual(Math.floor(QUOTA / value.length));
    const status = JSON.parse(await etcdctl([solo.endpoint], ['endpoint', 'status', '-w', 'json'])) as Array<{ Status: { header: { member_id: number | string }; dbSize: number; errors?: string[] } }>;
    expect(status[0]!.Status.dbSize).toBeLessThan(QUOTA);
    const table = await etcdctl([solo.endpoint], ['endpoint', 'status']);
    expect(table).toMatch(/memberID:\d+ alarm:NOSPACE/);
    expect(await etcdctl([solo.endpoint], ['alarm', 'list'])).toMatch(/^memberID:\d+ alarm:NOSPACE \n$/);
    await expect(etcdctl([solo.endpoint], ['put', 'small', 'v'])).rejects.toThrow('database space exceeded');

    // etcd's way out: delete, compact, defragment, disarm.
    await etcdctl([solo.endpoint], ['del', 'q/', '--prefix']);
    const revision = /"revision":(\d+)/.exec(await etcdctl([solo.endpoint], ['get', 'q/', '-w', 'json']))![1]!;
    await etcdctl([solo.endpoint], ['compact', revision, '--physical']);
    await etcdctl([solo.endpoint], ['defrag']);
    await etcdctl([solo.endpoint], ['alarm', 'disarm']);
    expect(await etcdctl([solo.endpoint], ['alarm', 'list'])).toBe('');
    await etcdctl([solo.endpoint], ['put', 'small', 'v']);
    expect(await etcdctl([solo.endpoint], ['get', 'small', '--print-value-only'])).toBe('v\n');
  }, 120_000);
});
