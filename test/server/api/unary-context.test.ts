// The unary adapter's call context: its signal aborts when the client cancels while the
// handler is still working, whether the handler asked for the signal before or after the
// cancel; a 'cancelled' that grpc-js reports as a finished call closes aborts nothing; the
// handler's answer, or its synchronous throw, reaches the callback.
import { EventEmitter } from 'node:events';
import { Metadata } from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import { unary } from '../../../src/server/api/unary.js';
import type { CallContext } from '../../../src/server/api/unary.js';

class FakeCall extends EventEmitter {
  cancelled = false;
  readonly metadata = new Metadata();
  constructor(readonly request: unknown) {
    super();
  }
  cancel(): void {
    this.cancelled = true;
    this.emit('cancelled');
  }
}

function run(handler: (request: unknown, context: CallContext) => Promise<unknown>): { call: FakeCall; answered: Promise<{ error: unknown; response: unknown }> } {
  const call = new FakeCall('req');
  const answered = new Promise<{ error: unknown; response: unknown }>((resolve) => {
    (unary(handler) as unknown as (c: FakeCall, cb: (error: unknown, response?: unknown) => void) => void)(call, (error, response) => resolve({ error, response }));
  });
  return { call, answered };
}

describe('unary call context', () => {
  it('aborts the signal a waiting handler holds when the client cancels', async () => {
    let signal: AbortSignal | undefined;
    const { call, answered } = run((_request, context) => {
      signal = context.signal;
      return new Promise((_resolve, reject) => signal!.addEventListener('abort', () => reject(signal!.reason)));
    });
    expect(signal?.aborted).toBe(false);
    call.cancel();
    expect(signal?.aborted).toBe(true);
    expect((await answered).error).toBeDefined();
  });

  it('gives an aborted signal to a handler that asks only after the cancel', async () => {
    let resume: () => void = () => {};
    const { call, answered } = run(async (_request, context) => {
      await new Promise<void>((resolve) => (resume = resolve));
      return context.signal.aborted ? 'saw the cancel' : 'missed it';
    });
    call.cancel();
    resume();
    expect((await answered).response).toBe('saw the cancel');
  });

  it('does not abort after the handler answered, and passes answers and synchronous throws on', async () => {
    let signal: AbortSignal | undefined;
    const { call, answered } = run(async (request, context) => {
      signal = context.signal;
      return `echo ${String(request)}`;
    });
    expect(await answered).toEqual({ error: null, response: 'echo req' });
    call.cancel(); // grpc-js reports 'cancelled' as a finished call closes
    expect(signal?.aborted).toBe(false);
    const thrown = run(() => {
      throw new Error('sync failure');
    });
    expect((await thrown.answered).error).toMatchObject({ details: expect.stringContaining('sync failure') });
  });
});
