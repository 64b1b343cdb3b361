// conclave/testing with auth on: the cluster creates root and enables auth; users made
// through root's client are enforced on the in-process (embedded) connection.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestCluster } from '../../src/testing/index.js';
import type { TestCluster } from '../../src/testing/index.js';
import { PermissionDeniedError } from '../../src/client/index.js';

describe('a test cluster with auth on', () => {
  let cluster: TestCluster;

  beforeAll(async () => {
    cluster = await createTestCluster({ members: 1, auth: { rootPassword: 'root-pw' }, member: { bcryptCost: 4 } });
  }, 60_000);

  afterAll(async () => {
    await cluster?.close();
  });

  it('enforces users and roles made through root', async () => {
    const root = cluster.client({ auth: { username: 'root', password: 'root-pw' } });
    await root.auth.roleAdd('svc');
    await root.auth.roleGrantPermission('svc', { type: 'readwrite', prefix: 'svc/' });
    await root.auth.userAdd('svc', 'svc-pw');
    await root.auth.userGrantRole('svc', 'svc');
    const svc = cluster.client({ auth: { username: 'svc', password: 'svc-pw' } });
    await svc.put('svc/a', '1');
    expect((await svc.get('svc/a')).kvs[0]?.value.toString()).toBe('1');
    await expect(svc.put('other', '1')).rejects.toBeInstanceOf(PermissionDeniedError);
    await expect(cluster.client().get('svc/a')).rejects.toMatchObject({ code: 'ERR_ETCD_USER_EMPTY' });
    expect((await root.auth.status()).enabled).toBe(true);
  });
});
