// Rows "member add on a 1-member cluster", "a member started with a name whose peer URL is
// listed under another name" and "member list -w json header": as etcd, adding a voter to a
// one-member cluster is accepted (1 started of 2) and the new member joins and serves; a
// name/URL mismatch with --initial-cluster exits with etcd's message; Cluster headers carry
// no revision.
import { afterAll, describe, expect, it } from 'vitest';
import { missingBinaries } from '../../support/binaries.js';
import { etcdctl } from '../../support/etcdctl.js';
import { freePorts } from '../../support/ports.js';
import { cleanup, spawnConclave, startSolo, tempDir, waitServing } from '../support/solo.js';
import { join } from 'node:path';

const skip = missingBinaries('etcdctl');
afterAll(cleanup);

describe.skipIf(skip !== undefined)('membership as etcd checks it', () => {
  it('accepts member add on a 1-member cluster; the new member joins, and writes need both', async () => {
    const first = await startSolo(['--engine', 'memory']);
    const [clientPort, peerPort] = await freePorts(2);
    const peerUrl = `http://127.0.0.1:${peerPort}`;
    const added = await etcdctl([first.endpoint], ['member', 'add', 'second', `--peer-urls=${peerUrl}`]);
    const initialCluster = /ETCD_INITIAL_CLUSTER="([^"]*)"/.exec(added)?.[1];
    expect(initialCluster).toBeDefined();
    const second = spawnConclave([
      'server', '--name', 'second', '--data-dir', join(tempDir('conclave-grow-'), 'data'),
      '--listen-client-urls', `http://127.0.0.1:${clientPort}`, '--listen-peer-urls', peerUrl,
      '--initial-cluster', initialCluster!, '--initial-cluster-state', 'existing',
    ]);
    const endpoint = `127.0.0.1:${clientPort}`;
    await waitServing({ process: second, endpoint });
    await etcdctl([first.endpoint], ['put', 'grown', 'to-two']);
    expect(await etcdctl([endpoint], ['get', 'grown', '--print-value-only', '--consistency=l'])).toBe('to-two\n');
    const list = JSON.parse(await etcdctl([endpoint], ['member', 'list', '-w', 'json'])) as { header: Record<string, unknown>; members: Array<{ name: string; clientURLs?: string[] }> };
    expect(list.members.map((m) => m.name).sort()).toEqual(['second', 'solo']);
    expect(list.header).not.toHaveProperty('revision');
    expect(list.header).toHaveProperty('raft_term');
  }, 120_000);

  it('exits with etcd\'s message when the name does not match its peer URL in --initial-cluster', async () => {
    const [peerA, peerB, client] = await freePorts(3);
    const cluster = `a=http://127.0.0.1:${peerA},b=http://127.0.0.1:${peerB}`;
    const common = ['--listen-client-urls', `http://127.0.0.1:${client}`, '--listen-peer-urls', `http://127.0.0.1:${peerB}`, '--initial-cluster', cluster];
    const wrongName = spawnConclave(['server', '--name', 'a', '--data-dir', join(tempDir('conclave-ic-'), 'd'), ...common]);
    expect((await wrongName.exited).code).toBe(2);
    expect(wrongName.log).toContain(`--initial-cluster: has a=http://127.0.0.1:${peerA} but missing from --initial-advertise-peer-urls=http://127.0.0.1:${peerB}`);
    const unknownName = spawnConclave(['server', '--name', 'c', '--data-dir', join(tempDir('conclave-ic-'), 'd'), ...common]);
    expect((await unknownName.exited).code).toBe(2);
    expect(unknownName.log).toContain('--initial-cluster: couldn\'t find local name "c" in the initial cluster configuration');
    const duplicate = spawnConclave(['server', '--name', 'b', '--data-dir', join(tempDir('conclave-ic-'), 'd'), ...common.slice(0, -1), `a=http://127.0.0.1:${peerB},b=http://127.0.0.1:${peerB}`]);
    expect((await duplicate.exited).code).toBe(2);
    expect(duplicate.log).toContain('has duplicate url');
  }, 60_000);
});
