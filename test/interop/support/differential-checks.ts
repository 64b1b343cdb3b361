/**
 * The differential scripts (test/server/api/differential-scripts.ts) run against real etcd
 * 3.4 and against the Conclave cluster; each script goes to a different Conclave member in
 * turn, so followers (forwarding proposals, lease calls and linearizable reads to the leader)
 * are compared with etcd as much as the leader is. Scripts run in order on fresh servers, so
 * these checks must run before anything else writes to either.
 */
import { expect, it } from 'vitest';
import { scripts } from '../../server/api/differential-scripts.js';
import { runScript } from '../../server/api/support/differential.js';
import type { InteropContext } from './context.js';

export function differentialChecks(context: () => InteropContext): void {
  Object.entries(scripts).forEach(([name, script], index) => {
    it(`differential: ${name}`, async () => {
      const { cluster, etcd, summary } = context();
      if (etcd === undefined) throw new Error('etcd is not running');
      const node = cluster.nodes[index % cluster.nodes.length]!;
      const expected = await runScript({ name: 'etcd 3.4', endpoint: etcd.endpoints[0]! }, script);
      const actual = await runScript({ name: `conclave ${node.name}`, endpoint: node.endpoint }, script);
      expect(actual).toEqual(expected);
      expect(actual.length).toBeGreaterThan(0);
      summary.differentialScripts += 1;
      summary.differentialEntries += actual.length;
    }, 60_000);
  });
}
