// A member joining a running cluster finds its id by its peer URL in the members' answers
// (discoverCluster). Re-added at the URL of a member just removed, it must take the new id even
// when a peer that has not yet applied the remove and the add answers (found by the chaos
// churn fault: the joiner ran as the removed id and never caught up). The peers' answers are
// given directly; the real clusterInfo RPC is exercised by the grow and churn process tests.
import { describe, expect, it } from 'vitest';
import { discoverCluster } from '../../src/server/bootstrap.js';
import type { ClusterInfoFetch } from '../../src/server/bootstrap.js';
import { ClusterState } from '../../src/server/cluster-state.js';
import type { ResolvedMemberOptions } from '../../src/server/member-options.js';

const JOINER_URL = 'http://127.0.0.1:23803';
const options = { initialAdvertisePeerUrls: [JOINER_URL], peerTls: undefined } as unknown as ResolvedMemberOptions;
const initial = new Map([['a', ['http://127.0.0.1:23801']], ['b', ['http://127.0.0.1:23802']], ['c', [JOINER_URL]]]);
const OLD_ID = 0xc0ffeen;
const NEW_ID = 0xbeefn;

function state(members: Array<[bigint, string]>, removed: bigint[] = []): ClusterState {
  const cluster = new ClusterState(7n);
  for (const [id, url] of members) cluster.members.set(id, { id, name: '', peerUrls: [url], clientUrls: [], isLearner: false });
  for (const id of removed) cluster.removed.add(id);
  return cluster;
}

/** The stale peer (a) has not applied the remove and re-add; the up-to-date one (b) has. */
const stale = state([[1n, 'http://127.0.0.1:23801'], [2n, 'http://127.0.0.1:23802'], [OLD_ID, JOINER_URL]]);
const current = state([[1n, 'http://127.0.0.1:23801'], [2n, 'http://127.0.0.1:23802'], [NEW_ID, JOINER_URL]], [OLD_ID]);

const answering = (answers: Record<string, ClusterState | Error>): ClusterInfoFetch => async (url) => {
  const answer = answers[url];
  if (answer === undefined || answer instanceof Error) throw answer ?? new Error(`no answer from ${url}`);
  return answer;
};

describe('joining a cluster: which id is mine', () => {
  it('takes the re-added id, never the removed one, whichever peer answers first', async () => {
    for (const answers of [
      { 'http://127.0.0.1:23801': stale, 'http://127.0.0.1:23802': current },
      { 'http://127.0.0.1:23801': current, 'http://127.0.0.1:23802': stale },
    ]) {
      const found = await discoverCluster(options, initial, answering(answers));
      expect(found.memberId).toBe(NEW_ID);
      expect(found.cluster.members.get(NEW_ID)?.peerUrls).toEqual([JOINER_URL]);
    }
  });

  it('a peer that has not applied the add yet does not hide the member from one that has', async () => {
    const notYet = state([[1n, 'http://127.0.0.1:23801'], [2n, 'http://127.0.0.1:23802']]);
    const found = await discoverCluster(options, initial, answering({ 'http://127.0.0.1:23801': notYet, 'http://127.0.0.1:23802': current }));
    expect(found.memberId).toBe(NEW_ID);
  });

  it('refuses to guess when two ids at its URL are both live, and says so when nobody lists it', async () => {
    const other = state([[1n, 'http://127.0.0.1:23801'], [2n, 'http://127.0.0.1:23802'], [NEW_ID + 1n, JOINER_URL]]);
    await expect(discoverCluster(options, initial, answering({ 'http://127.0.0.1:23801': other, 'http://127.0.0.1:23802': current }))).rejects.toMatchObject({ code: 'ERR_JOIN_FAILED' });
    const none = state([[1n, 'http://127.0.0.1:23801'], [2n, 'http://127.0.0.1:23802']]);
    await expect(discoverCluster(options, initial, answering({ 'http://127.0.0.1:23801': none, 'http://127.0.0.1:23802': none }))).rejects.toMatchObject({ code: 'ERR_NOT_ADDED' });
  });

  it('joins through the members that answer when others are down, and fails clearly when none does', async () => {
    const found = await discoverCluster(options, initial, answering({ 'http://127.0.0.1:23801': new Error('connect ECONNREFUSED'), 'http://127.0.0.1:23802': current }));
    expect(found.memberId).toBe(NEW_ID);
    await expect(discoverCluster(options, initial, answering({}))).rejects.toMatchObject({ code: 'ERR_JOIN_FAILED', message: expect.stringContaining('could not reach any member') });
  });
});
