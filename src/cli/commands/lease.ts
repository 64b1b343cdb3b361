import type { Command } from 'commander';
import { addClientFlags, positiveInteger } from '../client-flags.js';
import type { ClientFlags } from '../client-flags.js';
import { EXIT_OK, action } from '../context.js';
import type { CliContext } from '../context.js';
import { etcdJson, formatTable, headerJson, hex } from '../output.js';
import { parseHexId, withClient } from './kv.js';

export function register(program: Command, context: CliContext): void {
  const { io } = context;
  const lease = program.command('lease').description('grant, revoke, inspect, list and keep alive leases (ids in hex, as etcdctl prints them)');
  addClientFlags(lease.command('grant').description('grant a lease').argument('<ttl>', 'seconds', positiveInteger('ttl')))
    .action(action(context, (ttl: number, flags: ClientFlags) => withClient(context, 'lease grant', flags, async (client, signal) => {
      const grant = await client.leaseGrant(ttl, { signal });
      io.out(flags.writeOut === 'json'
        ? `${etcdJson({ ...headerJson(grant.header), ID: grant.id, TTL: grant.ttlSeconds, Error: '' })}\n`
        : `lease ${hex(grant.id)} granted with TTL(${grant.ttlSeconds}s)\n`);
      return EXIT_OK;
    })));
  addClientFlags(lease.command('revoke').description('revoke a lease, deleting its keys').argument('<id>', 'lease id in hex'))
    .action(action(context, (id: string, flags: ClientFlags) => withClient(context, 'lease revoke', flags, async (client, signal) => {
      const header = await client.leaseRevoke(parseHexId('id', id), { signal });
      io.out(flags.writeOut === 'json' ? `${etcdJson({ header: headerJson(header) })}\n` : `lease ${id} revoked\n`);
      return EXIT_OK;
    })));
  addClientFlags(lease.command('timetolive').description('TTL left, granted TTL and (with --keys) attached keys').argument('<id>', 'lease id in hex').option('--keys', 'list the attached keys'))
    .action(action(context, (id: string, flags: ClientFlags & { keys?: boolean }) => withClient(context, 'lease timetolive', flags, async (client, signal) => {
      const leaseId = parseHexId('id', id);
      const ttl = await client.leaseTimeToLive(leaseId, { keys: flags.keys === true, signal });
      const keys = ttl.keys.map((k) => Buffer.from(k).toString('utf8'));
      if (flags.writeOut === 'json') io.out(`${etcdJson({ id: leaseId, ttl: ttl.ttlSeconds, 'granted-ttl': ttl.grantedTtlSeconds, keys: flags.keys === true ? ttl.keys.map((k) => Buffer.from(k).toString('base64')) : null })}\n`);
      else if (ttl.ttlSeconds < 0) io.out(`lease ${id} already expired\n`);
      else io.out(`lease ${id} granted with TTL(${ttl.grantedTtlSeconds}s), remaining(${ttl.ttlSeconds}s)${flags.keys === true ? `, attached keys(${JSON.stringify(keys)})` : ''}\n`);
      return EXIT_OK;
    })));
  addClientFlags(lease.command('list').description('every lease'))
    .action(action(context, (flags: ClientFlags) => withClient(context, 'lease list', flags, async (client, signal) => {
      const ids = await client.leases({ signal });
      if (flags.writeOut === 'json') io.out(`${etcdJson({ leases: ids.map((id) => ({ id })) })}\n`);
      else if (flags.writeOut === 'simple') io.out(`found ${ids.length} leases\n${ids.map((id) => `${hex(id)}\n`).join('')}`);
      else io.out(formatTable(['lease'], ids.map((id) => [hex(id)])));
      return EXIT_OK;
    })));
  addClientFlags(lease.command('keep-alive').description('keep a lease alive until Ctrl-C, printing each renewal').argument('<id>', 'lease id in hex'))
    .action(action(context, (id: string, flags: ClientFlags) => withClient(context, 'lease keep-alive', flags, async (client, signal) => {
      const leaseId = parseHexId('id', id);
      const ttl = await client.leaseTimeToLive(leaseId, { signal });
      if (ttl.ttlSeconds < 0) throw new Error(`lease ${id} expired or revoked`);
      const lost = new Promise<never>((_resolve, reject) => {
        const registration = client.keepAlive({ id: leaseId, ttlSeconds: ttl.grantedTtlSeconds, sentAtMs: client.clock.nowMs() }, {
          renewed: (deadlineMs: number) => io.out(`lease ${id} keepalived with TTL(${Math.round((deadlineMs - client.clock.nowMs()) / 1000)})\n`),
          lost: (error: unknown) => reject(error),
        });
        signal.addEventListener('abort', () => {
          registration.stop();
          reject(signal.reason);
        }, { once: true });
      });
      await lost;
      return EXIT_OK;
    })));
}
