// Method: real etcd; the previous holder is a separate Node process writing a resource key in
// a batch. It is stopped with SIGSTOP mid-batch, past its lease TTL (2 s), so the server
// deletes its lock key; a waiter in this process then gets the lock. The holder is resumed
// and finishes the batch it had in flight. Judged by store revisions: with lockDelayMs the
// waiter's first write comes after every write of the lost holder; without it, the waiter
// writes first and the lost holder's writes land after it. The delay runs on a FakeClock, so
// "still waiting" is a state the test controls, not a duration it measures.
import { describe, expect, it } from 'vitest';
import { fileURLToPath } from 'node:url';
import { FakeClock } from '../../src/base/index.js';
import { Session } from '../../src/lease/index.js';
import { Mutex } from '../../src/lock/index.js';
import type { HandoffInfo, HeldLock } from '../../src/lock/index.js';
import { missingBinaries } from '../support/binaries.js';
import { useEtcdFixture } from '../support/etcd-fixture.js';
import { ManagedProcess } from '../support/process.js';
import { waitFor } from '../support/wait.js';

const skip = missingBinaries('etcd');
const script = fileURLToPath(new URL('../support/resource-writer-process.ts', import.meta.url));

/** The writer process; reads its JSON-line events. */
class WriterProcess extends ManagedProcess {
  constructor(args: string[]) {
    super(process.execPath, ['--import', 'tsx', script, ...args]);
  }

  event(name: string): Record<string, unknown> | undefined {
    return this.log.split('\n').filter((line) => line.startsWith('{')).map((line) => JSON.parse(line) as Record<string, unknown>).find((e) => e.event === name);
  }

  send(line: string): void {
    this.child.stdin?.write(`${line}\n`);
  }
}

describe.skipIf(skip !== undefined)('lock-delay under a SIGSTOPped holder', () => {
  const fixture = useEtcdFixture();

  async function scenario(name: string, lockDelayMs: number | undefined): Promise<{ holderRevisions: bigint[]; firstWrite: bigint; handoffs: HandoffInfo[]; heldBeforeResume: boolean }> {
    const resource = `${name}-resource`;
    const holder = fixture.track(new WriterProcess([fixture.etcd.endpoints[0]!, name, '2', resource]));
    await waitFor(() => expect(holder.event('mid-batch')).toBeDefined(), { timeout: 20_000, interval: 25 });
    const holderKey = holder.event('held')!.key as string;
    const clock = new FakeClock();
    const handoffs: HandoffInfo[] = [];
    const session = await Session.create(fixture.client, { ttlSeconds: 30 });
    const mutex = new Mutex(session, name, { ...(lockDelayMs === undefined ? {} : { lockDelayMs }), clock, onHandoff: (h) => handoffs.push(h) });
    let held: HeldLock | undefined;
    const locking = mutex.lock().then((h) => (held = h));
    await waitFor(async () => expect((await fixture.client.get(`${name}/`).prefix()).kvs).toHaveLength(2));
    holder.signal('SIGSTOP');
    // The stopped holder's lease expires on the server, which deletes its lock key.
    await waitFor(async () => expect(await fixture.client.get(holderKey).string()).toBeUndefined(), { timeout: 20_000, interval: 50 });
    if (lockDelayMs !== undefined) {
      // The waiter saw the loss and is holding its grant back on the fake clock.
      await waitFor(() => expect(clock.pendingTimers()).toBe(1));
    } else {
      await locking;
    }
    let firstWrite = 0n;
    if (held !== undefined) firstWrite = (await fixture.client.put(resource, 'next:1')).header.revision;
    holder.signal('SIGCONT');
    holder.send('continue');
    await waitFor(() => expect(holder.event('batch-done')).toBeDefined(), { timeout: 20_000, interval: 25 });
    const heldBeforeResume = held !== undefined;
    if (lockDelayMs !== undefined) {
      expect(held).toBeUndefined();
      clock.advance(lockDelayMs);
      await locking;
      firstWrite = (await fixture.client.put(resource, 'next:1')).header.revision;
    }
    await held!.unlock();
    await session.close();
    const holderRevisions = (holder.event('batch-done')!.revisions as string[]).map(BigInt);
    return { holderRevisions, firstWrite, handoffs, heldBeforeResume };
  }

  it('with lockDelayMs the next holder writes only after the lost holder\'s in-flight writes; without it, before them', async () => {
    const delayed = await scenario('delay-on', 5_000);
    expect(delayed.heldBeforeResume).toBe(false);
    expect(delayed.handoffs).toMatchObject([{ cause: 'lost', delayedMs: 5_000 }]);
    expect(delayed.holderRevisions).toHaveLength(3);
    for (const revision of delayed.holderRevisions) expect(revision).toBeLessThan(delayed.firstWrite);

    const immediate = await scenario('delay-off', undefined);
    expect(immediate.heldBeforeResume).toBe(true);
    expect(immediate.handoffs).toEqual([]);
    // The lost holder's remaining batch lands after the new holder's first write.
    expect(immediate.holderRevisions[0]).toBeLessThan(immediate.firstWrite);
    expect(immediate.holderRevisions[1]).toBeGreaterThan(immediate.firstWrite);
    expect(immediate.holderRevisions[2]).toBeGreaterThan(immediate.firstWrite);
  }, 120_000);
});
