// The batched ReadIndex on a fake clock: one round serves every read that joined it once the
// member has applied up to the read index; an unanswered round is asked again with the same
// context (a lost request must not hold every later read until the timeout); contexts carry
// the member id so two members' rounds never collide on the leader; a round that gets no
// answer at all fails with etcd's timeout. A sole-voter leader's read index is its commit
// index: no round is asked for; the read waits only until that index is applied.
import { describe, expect, it } from 'vitest';
import { FakeClock } from '../../src/base/clock.js';
import { ReadIndexBatcher, READ_INDEX_RETRY_MS } from '../../src/server/read-index.js';

function setup(memberId = 0xabcn) {
  const clock = new FakeClock();
  const asked: Uint8Array[] = [];
  let applied = 0;
  const batcher = new ReadIndexBatcher({ requestReadIndex: (context) => void asked.push(context), appliedIndex: () => applied, memberId }, clock, 5_000, 100);
  return { clock, asked, batcher, setApplied: (index: number) => { applied = index; } };
}

describe('ReadIndexBatcher', () => {
  it('serves a read once applied reaches its read index; a read arriving during a round joins the next one', async () => {
    const { asked, batcher, setApplied } = setup();
    let done = 0;
    const a = batcher.wait().then(() => void (done += 1));
    // Arrives after the first round was asked: it may not use that round's index.
    const b = batcher.wait().then(() => void (done += 1));
    expect(asked).toHaveLength(1);
    batcher.onReadStates([{ index: 7, requestContext: asked[0]! }]);
    expect(asked).toHaveLength(2);
    await Promise.resolve();
    expect(done).toBe(0);
    setApplied(7);
    batcher.onApplied();
    await a;
    expect(done).toBe(1);
    batcher.onReadStates([{ index: 9, requestContext: asked[1]! }]);
    setApplied(9);
    batcher.onApplied();
    await b;
    expect(done).toBe(2);
  });

  it('asks again with the same context when a round gets no answer, and carries the member id', () => {
    const { clock, asked, batcher } = setup(0x1234n);
    void batcher.wait().catch(() => undefined);
    clock.advance(READ_INDEX_RETRY_MS);
    expect(asked).toHaveLength(2);
    expect(Buffer.from(asked[1]!).equals(Buffer.from(asked[0]!))).toBe(true);
    expect(new DataView(asked[0]!.buffer, asked[0]!.byteOffset).getBigUint64(0)).toBe(0x1234n);
  });

  it('serves a sole-voter leader without a round: at once when its commit index is applied, else once it is', async () => {
    const clock = new FakeClock();
    const asked: Uint8Array[] = [];
    let applied = 4;
    let local: number | undefined = 4;
    const batcher = new ReadIndexBatcher({ requestReadIndex: (context) => void asked.push(context), appliedIndex: () => applied, localReadIndex: () => local }, clock, 5_000, 100);
    await batcher.wait();
    local = 6; // committed, not yet applied
    let done = false;
    const pending = batcher.wait().then(() => void (done = true));
    await Promise.resolve();
    expect(done).toBe(false);
    applied = 5;
    batcher.onApplied();
    await Promise.resolve();
    expect(done).toBe(false);
    applied = 6;
    batcher.onApplied();
    await pending;
    expect(asked).toHaveLength(0);
    // Not (or no longer) the sole-voter leader: the ordinary round.
    local = undefined;
    void batcher.wait().catch(() => undefined);
    expect(asked).toHaveLength(1);
  });

  it('fails a sole-voter read whose index is never applied with the timeout, and counts it against the waiter bound', async () => {
    const clock = new FakeClock();
    const batcher = new ReadIndexBatcher({ requestReadIndex: () => {}, appliedIndex: () => 0, localReadIndex: () => 3 }, clock, 5_000, 1);
    const pending = batcher.wait();
    await expect(batcher.wait()).rejects.toMatchObject({ grpcMessage: 'etcdserver: too many requests' });
    clock.advance(5_000);
    await expect(pending).rejects.toMatchObject({ grpcMessage: 'etcdserver: request timed out' });
  });

  it("fails a round that never gets an answer with etcd's timeout error", async () => {
    const { clock, batcher } = setup();
    const pending = batcher.wait();
    clock.advance(5_000);
    await expect(pending).rejects.toMatchObject({ grpcMessage: 'etcdserver: request timed out' });
  });
});
