/**
 * A stream of puts from several concurrent writers through the etcd3 npm client, recording
 * which writes were acknowledged (only those must survive a crash), and the checks that every
 * acknowledged key is on a member and that members' HashKV agree.
 */
import type { Etcd3 } from 'etcd3';
import { etcdctl } from '../../support/etcdctl.js';
import { waitFor } from '../../support/wait.js';
import type { ConclaveNode } from './cluster.js';

export class WriteStream {
  /** key -> value of every put the cluster acknowledged. */
  readonly acknowledged = new Map<string, string>();
  failures = 0;
  private next = 0;
  private stopped = false;
  private workers: Promise<void>[] = [];

  constructor(private readonly client: Etcd3, private readonly prefix: string, private readonly concurrency = 8) {}

  start(): this {
    this.workers = Array.from({ length: this.concurrency }, () => this.work());
    return this;
  }

  private async work(): Promise<void> {
    while (!this.stopped) {
      const key = `${this.prefix}${String(this.next++).padStart(7, '0')}`;
      const value = `value-of-${key}`;
      try {
        await this.client.put(key).value(value);
        this.acknowledged.set(key, value);
      } catch {
        // Not acknowledged (member down, leader change): it may or may not have landed.
        this.failures += 1;
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    }
  }

  /** Resolves once `count` more writes than now have been acknowledged. */
  async acknowledgeMore(count: number, timeoutMs = 120_000): Promise<void> {
    const target = this.acknowledged.size + count;
    await waitFor(() => {
      if (this.acknowledged.size < target) throw new Error(`${this.acknowledged.size} of ${target} writes acknowledged (${this.failures} failed attempts)`);
    }, { timeout: timeoutMs, interval: 10 });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.all(this.workers);
  }
}

/** Waits until `node` holds every acknowledged key with its value (serializable, member-local reads). */
export async function expectAllAcknowledged(node: ConclaveNode, acknowledged: ReadonlyMap<string, string>, prefix: string, timeoutMs = 60_000): Promise<void> {
  const client = node.client();
  try {
    await waitFor(async () => {
      const held = await client.getAll().prefix(prefix).serializable(true).strings();
      const missing = [...acknowledged].filter(([key, value]) => held[key] !== value);
      if (missing.length > 0) throw new Error(`${node.name} lacks ${missing.length} of ${acknowledged.size} acknowledged writes, e.g. ${missing.slice(0, 3).map(([k]) => k).join(', ')}`);
    }, { timeout: timeoutMs, interval: 250 });
  } finally {
    client.close();
  }
}

/**
 * Waits until every member reports the same revision and the same HashKV at it (through
 * `etcdctl endpoint hashkv`: the etcd3 npm client has no HashKV call).
 */
export async function expectEqualHashKv(nodes: readonly ConclaveNode[], timeoutMs = 60_000): Promise<{ revision: number; hash: number }> {
  return waitFor(async () => {
    const answers = await Promise.all(nodes.map(async (node) => {
      const [entry] = JSON.parse(await etcdctl([node.endpoint], ['endpoint', 'hashkv', '-w', 'json'])) as Array<{ HashKV: { header: { revision: number }; hash?: number } }>;
      return { revision: entry!.HashKV.header.revision, hash: entry!.HashKV.hash ?? 0 };
    }));
    const first = answers[0]!;
    if (answers.some((a) => a.revision !== first.revision || a.hash !== first.hash)) {
      throw new Error(`members disagree: ${answers.map((a, i) => `${nodes[i]!.name}: revision ${a.revision} hash ${a.hash}`).join('; ')}`);
    }
    return first;
  }, { timeout: timeoutMs, interval: 250 });
}
