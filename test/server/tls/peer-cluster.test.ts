// Peer TLS with client-certificate verification (peer mTLS): three members in this process,
// each with its own certificate from a test CA made at test time, listening on https peer
// URLs. The cluster must elect a leader and replicate a write to every member (read back
// serializably from each, so the value came over the peer port). A fourth member, added with
// etcdctl as a learner, presents a certificate from another CA (while trusting the right
// one, so the only fault is its own certificate): it cannot join. The same member with a
// certificate from the right CA then joins and catches up, which shows the refusal was the
// certificate's. States are polled, never timed. Fails under CI=true without etcdctl/openssl.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startMember } from '../../../src/embed/index.js';
import type { EmbeddedMember, MemberOptions } from '../../../src/embed/index.js';
import { missingBinaries } from '../../support/binaries.js';
import { etcdctl } from '../../support/etcdctl.js';
import { freePorts } from '../../support/ports.js';
import { waitFor } from '../../support/wait.js';
import { TestPki } from './support/pki.js';
import type { IssuedCert } from './support/pki.js';

const skip = missingBinaries('etcdctl', 'openssl');

describe.skipIf(skip !== undefined)('peer mTLS', () => {
  let pki: TestPki;
  let peerPorts: number[];
  const members: EmbeddedMember[] = [];
  const dirs: string[] = [];
  const token = `conclave-tls-${process.pid}`;
  const peerUrl = (i: number): string => `https://127.0.0.1:${peerPorts[i]}`;
  const cluster = (count: number): string => Array.from({ length: count }, (_, i) => `m${i}=${peerUrl(i)}`).join(',');

  async function options(i: number, cert: IssuedCert, extra: Partial<MemberOptions>): Promise<MemberOptions> {
    const dataDir = await mkdtemp(join(tmpdir(), `conclave-tls-m${i}-`));
    dirs.push(dataDir);
    return {
      name: `m${i}`,
      dataDir,
      listenClientUrls: ['http://127.0.0.1:0'],
      listenPeerUrls: [peerUrl(i)],
      initialClusterToken: token,
      heartbeatIntervalMs: 50,
      electionTimeoutMs: 500,
      peerCertFile: cert.cert,
      peerKeyFile: cert.key,
      peerTrustedCaFile: pki.ca.cert,
      peerClientCertAuth: true,
      ...extra,
    };
  }

  beforeAll(async () => {
    pki = new TestPki();
    peerPorts = await freePorts(4);
  });

  afterAll(async () => {
    await Promise.all(members.map((m) => m.destroy()));
    await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
    pki?.remove();
  });

  it('a 3-member cluster forms over https peer URLs and replicates; a member with a certificate from another CA cannot join', async () => {
    const initial = await Promise.all([0, 1, 2].map(async (i) => options(i, pki.ca.issue(`peer-${i}`), { initialCluster: cluster(3) })));
    members.push(...(await Promise.all(initial.map((o) => startMember(o)))));
    const leader = await waitFor(() => {
      const leaders = new Set(members.map((m) => m.status().leader));
      expect(leaders.size).toBe(1);
      const [id] = leaders;
      expect(id).not.toBe(0n);
      return id!;
    });
    expect(members.map((m) => m.member.memberId)).toContain(leader);

    const writer = members[0]!.client();
    await writer.put('peer-tls/key', 'replicated');
    for (const m of members) {
      const client = m.client();
      await waitFor(async () => expect(await client.get('peer-tls/key').serializable().string()).toBe('replicated'));
      await client.close();
    }

    // Add a learner at the fourth peer URL; its certificate comes from the rogue CA.
    const clientUrls = members.map((m) => m.clientUrls[0]!);
    const added = await etcdctl(clientUrls, ['member', 'add', 'm3', `--peer-urls=${peerUrl(3)}`, '--learner']);
    expect(added).toMatch(/Member\s+[0-9a-f]+\s+added/);
    const rogueOptions = await options(3, pki.rogue.issue('rogue-peer'), { initialCluster: cluster(4), initialClusterState: 'existing' });
    const refused = await startMember(rogueOptions).then((m) => {
      members.push(m);
      return undefined;
    }, (error: unknown) => error as Error & { code?: string });
    expect(refused?.code).toBe('ERR_JOIN_FAILED');
    expect(refused?.message).toMatch(/could not reach any member/);

    // The same member with a certificate from the cluster's CA joins and catches up.
    const good = await startMember(await options(3, pki.ca.issue('peer-3'), { initialCluster: cluster(4), initialClusterState: 'existing' }));
    members.push(good);
    const joined = good.client();
    await waitFor(async () => expect(await joined.get('peer-tls/key').serializable().string()).toBe('replicated'));
    await joined.close();
    await writer.close();
  });
});
