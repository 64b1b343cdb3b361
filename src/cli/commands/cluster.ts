import type { Command } from 'commander';
import { Client } from '../../index.js';
import { addClientFlags } from '../client-flags.js';
import type { ClientFlags } from '../client-flags.js';
import { EXIT_FAILED, EXIT_OK, action } from '../context.js';
import type { CliContext } from '../context.js';
import { etcdJson, formatTable, headerJson, hex } from '../output.js';
import { withClient } from './kv.js';

export function register(program: Command, context: CliContext): void {
  const { io } = context;
  const member = program.command('member').description('cluster membership');
  addClientFlags(member.command('list').description('every member: id, name, peer and client URLs, learner'))
    .action(action(context, (flags: ClientFlags) => withClient(context, 'member list', flags, async (client, signal) => {
      const members = await client.memberList({ signal });
      if (flags.writeOut === 'json') {
        io.out(`${etcdJson({ members: members.map((m) => ({ ID: m.id, name: m.name, peerURLs: m.peerUrls, clientURLs: m.clientUrls, ...(m.isLearner ? { isLearner: true } : {}) })) })}\n`);
      } else if (flags.writeOut === 'simple') {
        for (const m of members) io.out(`${hex(m.id)}, started, ${m.name}, ${m.peerUrls.join(',')}, ${m.clientUrls.join(',')}, ${m.isLearner}\n`);
      } else {
        io.out(formatTable(['id', 'status', 'name', 'peer addrs', 'client addrs', 'is learner'], members.map((m) => [hex(m.id), 'started', m.name, m.peerUrls.join(','), m.clientUrls.join(','), String(m.isLearner)])));
      }
      return EXIT_OK;
    })));

  const endpoint = program.command('endpoint').description('per-endpoint status and health');
  addClientFlags(endpoint.command('status').description('each endpoint\'s member id, version, DB size, leader, raft term and indexes'))
    .action(action(context, (flags: ClientFlags) => withClient(context, 'endpoint status', flags, async (_client, signal) => {
      const rows = await Promise.all(endpointsOf(flags).map(async (address) => {
        const one = new Client({ endpoints: [address], callTimeoutMs: flags.commandTimeout });
        try {
          return { address, status: await one.status({ signal }) };
        } finally {
          await one.close().catch(() => {});
        }
      }));
      if (flags.writeOut === 'json') {
        io.out(`${etcdJson(rows.map(({ address, status: s }) => ({ Endpoint: address, Status: { header: headerJson(s.header), version: s.version, dbSize: s.dbSize, leader: s.leader, raftIndex: s.raftIndex, raftTerm: s.raftTerm, raftAppliedIndex: s.raftAppliedIndex, ...(s.errors.length ? { errors: s.errors } : {}), ...(s.isLearner ? { isLearner: true } : {}) } })))}\n`);
      } else {
        const cells = rows.map(({ address, status: s }) => [address, hex(s.header.memberId), s.version, `${s.dbSize} B`, String(s.leader === s.header.memberId), String(s.isLearner), String(s.raftTerm), String(s.raftIndex), String(s.raftAppliedIndex), s.errors.join('; ')]);
        io.out(flags.writeOut === 'simple' ? cells.map((c) => `${c.join(', ')}\n`).join('') : formatTable(['endpoint', 'id', 'version', 'db size', 'is leader', 'is learner', 'raft term', 'raft index', 'raft applied index', 'errors'], cells));
      }
      return EXIT_OK;
    })));
  addClientFlags(endpoint.command('health').description('each endpoint: reachable, has a leader, serves a linearizable read (exit 1 if any is not)'))
    .action(action(context, (flags: ClientFlags) => withClient(context, 'endpoint health', flags, async (client, signal) => {
      const results = await client.health({ signal });
      if (flags.writeOut === 'json') {
        io.out(`${JSON.stringify(results.map((r) => ({ endpoint: r.endpoint, health: r.healthy, took: `${r.tookMs.toFixed(1)}ms`, ...(r.error === undefined ? {} : { error: r.error }) })))}\n`);
      } else if (flags.writeOut === 'simple') {
        for (const r of results) io.out(r.healthy ? `${r.endpoint} is healthy: took = ${r.tookMs}ms\n` : `${r.endpoint} is unhealthy: ${r.error ?? ''}\n`);
      } else {
        io.out(formatTable(['endpoint', 'health', 'took', 'error'], results.map((r) => [r.endpoint, String(r.healthy), `${r.tookMs.toFixed(1)}ms`, r.error ?? ''])));
      }
      return results.every((r) => r.healthy) ? EXIT_OK : EXIT_FAILED;
    })));
}

function endpointsOf(flags: ClientFlags): string[] {
  return flags.endpoints.split(',').map((e) => e.trim().replace(/^https?:\/\//, '')).filter((e) => e !== '');
}
