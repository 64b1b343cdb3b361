// Method: unit tests on a FakeClock with an in-process member that answers only when told
// (no server). Checks the per-call machinery: calls on the client's default limit share one
// timer and each still times out at its own deadline; a call with its own limit times out on
// its own; a caller's signal ends only its calls; destroy() ends every call in flight; finished
// calls leave nothing queued; a retryable failure of a read is retried (and a write's is not).
import { create } from '@bufbuild/protobuf';
import { describe, expect, it } from 'vitest';
import { FakeClock } from '../../src/base/index.js';
import { Client, GrpcStatus } from '../../src/client/index.js';
import type { EmbeddedMember } from '../../src/client/index.js';
import { PutResponseSchema, RangeResponseSchema } from '../../src/gen/etcdserverpb/rpc_pb.js';

interface Pending {
  readonly path: string;
  answer(error: unknown, response?: unknown): void;
  cancelled: boolean;
}

function heldMember(): { member: EmbeddedMember; pending: Pending[] } {
  const pending: Pending[] = [];
  const member: EmbeddedMember = {
    name: 'held',
    unary: () => Promise.reject(new Error('the callback form is used')),
    call(path, _request, _metadata, callback) {
      const entry: Pending = { path, cancelled: false, answer: (error, response) => callback(error, response) };
      pending.push(entry);
      return { cancel: () => void (entry.cancelled = true) };
    },
    stream: () => {
      throw new Error('no streams here');
    },
  };
  return { member, pending };
}

const rangeResponse = create(RangeResponseSchema, {});

describe('unary call deadlines, signals and retries', () => {
  it('default-limit calls time out at their own deadlines on one shared timer', async () => {
    const clock = new FakeClock();
    const { member, pending } = heldMember();
    const client = new Client({ embedded: [member], clock, callTimeoutMs: 1_000 });
    const first = client.get('a').then(() => 'ok', (e: unknown) => (e as { code?: string }).code);
    clock.advance(400);
    const second = client.get('b').then(() => 'ok', (e: unknown) => (e as { code?: string }).code);
    expect(clock.pendingTimers()).toBe(1);
    clock.advance(600);
    expect(await first).toBe('ERR_CALL_TIMEOUT');
    expect(pending[0]!.cancelled).toBe(true);
    expect(pending[1]!.cancelled).toBe(false);
    clock.advance(399);
    pending[1]!.answer(undefined, rangeResponse);
    expect(await second).toBe('ok');
    client.destroy();
  });

  it('a call with its own limit has its own timer', async () => {
    const clock = new FakeClock();
    const { member } = heldMember();
    const client = new Client({ embedded: [member], clock, callTimeoutMs: 10_000 });
    const short = client.get('a').timeout(50).then(() => 'ok', (e: unknown) => (e as { code?: string }).code);
    const long = client.get('b').then(() => 'ok', (e: unknown) => (e as { code?: string }).code);
    clock.advance(50);
    expect(await short).toBe('ERR_CALL_TIMEOUT');
    clock.advance(9_950);
    expect(await long).toBe('ERR_CALL_TIMEOUT');
    client.destroy();
  });

  it('a shared caller signal ends its calls only; destroy ends the rest', async () => {
    const clock = new FakeClock();
    const { member, pending } = heldMember();
    const client = new Client({ embedded: [member], clock });
    const controller = new AbortController();
    const reason = new Error('caller gave up');
    const mine = [client.get('a').signal(controller.signal), client.get('b').signal(controller.signal)].map((p) => p.then(() => 'ok', (e: unknown) => e));
    const other = client.get('c').then(() => 'ok', (e: unknown) => e);
    controller.abort(reason);
    expect(await Promise.all(mine)).toEqual([reason, reason]);
    expect(pending.map((p) => p.cancelled)).toEqual([true, true, false]);
    client.destroy(new Error('bye'));
    expect(await other).toMatchObject({ message: 'bye' });
    expect(pending[2]!.cancelled).toBe(true);
  });

  it('a call whose signal already aborted is not sent', async () => {
    const { member, pending } = heldMember();
    const client = new Client({ embedded: [member], clock: new FakeClock() });
    const reason = new Error('already');
    await expect(client.get('a').signal(AbortSignal.abort(reason))).rejects.toBe(reason);
    expect(pending).toHaveLength(0);
    client.destroy();
  });

  it('retries a read after a retryable failure, never a write', async () => {
    const { member, pending } = heldMember();
    const client = new Client({ embedded: [member], retry: { retries: 2, minDelayMs: 1, maxDelayMs: 2 } });
    const unavailable = { code: GrpcStatus.UNAVAILABLE, details: 'etcdserver: leader changed' };
    // Builders send when awaited: then() starts them.
    const read = client.get('a').then((r) => r);
    pending[0]!.answer(unavailable);
    await expect.poll(() => pending.length).toBe(2);
    pending[1]!.answer(undefined, rangeResponse);
    await expect(read).resolves.toMatchObject({ kvs: [] });
    const write = client.put('k', 'v').then((r) => r);
    pending[2]!.answer(unavailable);
    await expect(write).rejects.toMatchObject({ grpcCode: GrpcStatus.UNAVAILABLE, retryable: false });
    expect(pending).toHaveLength(3);
    const put = client.put('k', 'v').then((r) => r);
    pending[3]!.answer(undefined, create(PutResponseSchema, {}));
    await put;
    client.destroy();
  });

  it('a member that throws when the call starts fails that call with the mapped error', async () => {
    const { member } = heldMember();
    const throwing: EmbeddedMember = {
      ...member,
      call: () => {
        throw Object.assign(new Error('12 unknown method'), { code: GrpcStatus.UNIMPLEMENTED, details: 'unknown method /x' });
      },
    };
    const client = new Client({ embedded: [throwing], clock: new FakeClock() });
    await expect(client.get('a')).rejects.toMatchObject({ grpcCode: GrpcStatus.UNIMPLEMENTED });
    client.destroy();
  });
});
