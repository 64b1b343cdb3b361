// Method: Counter on Conclave (1 member in this process) and real etcd: concurrent writers on
// separate clients increment one key; the final value must count every increment (no lost
// update); values() follows the changes; a non-integer value is a typed error.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client } from '../../src/client/index.js';
import { Counter } from '../../src/stm/index.js';
import type { RunningTarget } from '../conformance/targets.js';
import { waitFor } from '../support/wait.js';
import { sideBySide } from './targets.js';

for (const target of sideBySide) {
  describe.skipIf(target.unavailable() !== undefined)(`Counter: ${target.name}`, () => {
    let running: RunningTarget;
    const clients: Client[] = [];
    const client = (ns: string): Client => {
      const c = new Client({ ...running.connection, namespace: `${ns}/` });
      clients.push(c);
      return c;
    };

    beforeAll(async () => {
      running = await target.start();
    });

    afterAll(async () => {
      await Promise.all(clients.map((c) => c.close()));
      await running?.stop();
    });

    it('8 writers x 25 increments on separate clients: no increment lost', async () => {
      const writers = Array.from({ length: 8 }, () => new Counter(client('c1'), 'hits'));
      const results = await Promise.all(writers.map(async (counter) => {
        const seen: bigint[] = [];
        for (let i = 0; i < 25; i += 1) seen.push(await counter.increment());
        return seen;
      }));
      expect(await writers[0]!.get()).toBe(200n);
      // Every increment returned a distinct value: no two writers both "won" the same step.
      const all = results.flat().map(String);
      expect(new Set(all).size).toBe(200);
    }, 60_000);

    it('compareAndSet, negative deltas, values() and a typed error for a non-integer', async () => {
      const c = client('c2');
      const counter = new Counter(c, 'n');
      expect(await counter.get()).toBe(0n);
      const controller = new AbortController();
      const seen: bigint[] = [];
      const following = (async () => {
        for await (const value of counter.values({ signal: controller.signal })) seen.push(value);
      })().catch(() => {});
      await waitFor(() => expect(seen).toEqual([0n]));
      expect(await counter.add(5)).toBe(5n);
      expect(await counter.compareAndSet(4n, 9n)).toBe(false);
      expect(await counter.compareAndSet(5n, 9n)).toBe(true);
      expect(await counter.add(-10n)).toBe(-1n);
      await waitFor(() => expect(seen).toEqual([0n, 5n, 9n, -1n]));
      controller.abort();
      await following;
      await c.put('n', 'twelve');
      await expect(counter.increment()).rejects.toMatchObject({ code: 'ERR_COUNTER_NOT_INTEGER' });
      expect(() => new Counter(c, '')).toThrow(/key/);
    });
  });
}
