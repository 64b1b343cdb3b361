/**
 * The set-up the interop and lock-safety suites share: one real etcd 3.4 member, one SDK client
 * on it, and the child processes the tests start (etcdctl, holder or writer processes), every
 * one killed after the suite. Call it at the top of a describe block; read `etcd` and `client`
 * inside tests (they exist once beforeAll has run).
 */
import { afterAll, beforeAll } from 'vitest';
import { Client } from '../../src/client/index.js';
import { startEtcd } from './etcd.js';
import type { EtcdCluster } from './etcd.js';

interface Killable {
  kill(): Promise<void>;
}

export interface EtcdFixture {
  readonly etcd: EtcdCluster;
  readonly client: Client;
  /** Registers a child process to kill after the suite; returns it. */
  track<P extends Killable>(child: P): P;
}

export function useEtcdFixture(): EtcdFixture {
  let etcd: EtcdCluster | undefined;
  let client: Client | undefined;
  const children: Killable[] = [];
  beforeAll(async () => {
    etcd = await startEtcd();
    client = new Client({ endpoints: etcd.endpoints });
  });
  afterAll(async () => {
    await Promise.all(children.map((child) => child.kill()));
    await client?.close();
    await etcd?.stop();
  });
  return {
    get etcd(): EtcdCluster {
      if (etcd === undefined) throw new Error('etcd is started in beforeAll: read it inside a test');
      return etcd;
    },
    get client(): Client {
      if (client === undefined) throw new Error('the client is made in beforeAll: read it inside a test');
      return client;
    },
    track(child) {
      children.push(child);
      return child;
    },
  };
}
