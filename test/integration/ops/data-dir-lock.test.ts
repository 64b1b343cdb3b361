// Row "second `conclave server` on a live --data-dir": etcd refuses it (file lock). Both
// engines: the second process exits 1 naming the holder's pid, the first keeps serving; after
// the holder is killed with -9 its stale lock is taken over at once by a restart.
import { afterAll, describe, expect, it } from 'vitest';
import { missingBinaries } from '../../support/binaries.js';
import { etcdctl } from '../../support/etcdctl.js';
import { cleanup, startSolo } from '../support/solo.js';

const skip = missingBinaries('etcdctl');
afterAll(cleanup);

describe.skipIf(skip !== undefined).each(['memory', 'lmdb'])('the data-dir lock (%s engine)', (engine) => {
  it('refuses a second server on a live data dir, naming the holder, and takes over a lock left by kill -9', async () => {
    const first = await startSolo(['--engine', engine]);
    await etcdctl([first.endpoint], ['put', 'held', 'by-first']);
    const second = await startSolo(['--engine', engine], { dataDir: first.dataDir, name: 'intruder', wait: false });
    const exit = await second.process.exited;
    expect(exit.code).toBe(1);
    // The logger quotes the message, so the member's name appears as \"solo\".
    expect(second.process.log).toContain(`ERR_DATA_DIR_LOCKED: data directory ${first.dataDir} is in use by member`);
    expect(second.process.log).toContain(`solo\\" (pid ${first.process.child.pid} on `);
    expect(await etcdctl([first.endpoint], ['get', 'held', '--print-value-only'])).toBe('by-first\n');

    await first.process.kill(); // kill -9: the lock file stays behind
    const restarted = await startSolo(['--engine', engine], { dataDir: first.dataDir, sameUrlsAs: first });
    expect(await etcdctl([restarted.endpoint], ['get', 'held', '--print-value-only'])).toBe('by-first\n');
  }, 120_000);
});
