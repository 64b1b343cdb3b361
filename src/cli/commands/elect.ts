import { Option } from 'commander';
import type { Command } from 'commander';
import { Election, LockTimeoutError } from '../../index.js';
import type { LeaderInfo, Leadership } from '../../index.js';
import { addClientFlags, clientFromFlags, nonNegativeInteger } from '../client-flags.js';
import { EXIT_LOCK_TIMEOUT, EXIT_OK, action } from '../context.js';
import { UsageError } from '../flags.js';
import type { CliContext } from '../context.js';
import { InterruptedError, stopSignal } from '../stop-signal.js';
import { failure } from './failure.js';
import { addHolderFlags, holdWhile } from './lock.js';
import type { LockFlags } from './lock.js';

interface ElectFlags extends LockFlags {
  readonly observe?: boolean;
}

export function register(program: Command, context: CliContext): void {
  const command = program
    .command('elect')
    .description('campaign for leadership (etcd\'s layout: works with `etcdctl elect`) and run a command while leader, or --observe the leader')
    .argument('<name>', 'election name')
    .argument('[value]', 'this candidate\'s proposal, published while it leads')
    .argument('[command...]', 'the command to run while leader (after --); without one, prints the leader key and leads until Ctrl-C')
    .addOption(new Option('--observe', 'print the leader every time it changes ("no leader" when nobody leads); runs until Ctrl-C'))
    .addOption(new Option('--timeout <ms>', `give up campaigning after this long (exit ${EXIT_LOCK_TIMEOUT})`).argParser(nonNegativeInteger('--timeout')))
    .addHelpText('after', `
The command gets CONCLAVE_ELECTION_KEY, CONCLAVE_LEADER_TOKEN (the leader key's create revision)
and CONCLAVE_LEADER_VALUE. When leadership is lost it gets SIGTERM, then SIGKILL after
--grace-period. Exit codes as for 'conclave lock'.
--observe prints one line per change: "leader=<value> key=<key> token=<token>" or "no leader"
(-w json: one JSON object a line, {"leader":null} when nobody leads).

Example: conclave elect scheduler "$(hostname)" -- ./run-scheduler.sh`);
  addHolderFlags(addClientFlags(command)).action(action(context, (name: string, value: string | undefined, argv: string[], flags: ElectFlags) => runElect(context, name, value, argv, flags)));
}

async function runElect(context: CliContext, name: string, value: string | undefined, argv: readonly string[], flags: ElectFlags): Promise<number> {
  const { io } = context;
  if (flags.observe === true) {
    if (value !== undefined) return failure(io, 'elect', new UsageError('--observe takes no value or command'));
  } else if (value === undefined) {
    return failure(io, 'elect', new UsageError('give a value to campaign with, or --observe'));
  }
  const stop = stopSignal(io);
  const client = clientFromFlags(flags);
  try {
    if (flags.observe === true) {
      // Election needs a session even to observe; this one's lease holds no key.
      const election = new Election(await client.session({ ttlSeconds: flags.ttl, signal: stop.signal }), name);
      try {
        for await (const leader of election.observe({ signal: stop.signal })) io.out(formatLeader(leader, flags.writeOut === 'json'));
      } catch (error) {
        if (error instanceof InterruptedError) return EXIT_OK;
        throw error;
      }
      return EXIT_OK;
    }
    const session = await client.session({ ttlSeconds: flags.ttl, signal: stop.signal });
    let leadership: Leadership;
    try {
      leadership = await new Election(session, name).campaign(value!, { signal: stop.signal, ...(flags.timeout === undefined ? {} : { timeoutMs: flags.timeout }) });
    } catch (error) {
      if (error instanceof LockTimeoutError) {
        io.err(`conclave elect: not elected within ${flags.timeout} ms\n`);
        return EXIT_LOCK_TIMEOUT;
      }
      throw error;
    }
    const env = { CONCLAVE_ELECTION_KEY: leadership.key, CONCLAVE_LEADER_TOKEN: leadership.token.toString(), CONCLAVE_LEADER_VALUE: value! };
    return await holdWhile(context, 'elect', leadership.signal, stop.signal, argv, env, flags.gracePeriod, () => io.out(`${leadership.key}\n`), () => leadership.resign());
  } catch (error) {
    return failure(io, 'elect', error);
  } finally {
    stop.dispose();
    await client.close().catch(() => {});
  }
}

export function formatLeader(leader: LeaderInfo | null, json: boolean): string {
  if (json) return `${JSON.stringify(leader === null ? { leader: null } : { leader: leader.value, key: leader.key, token: leader.token.toString(), lease: leader.lease.toString() })}\n`;
  return leader === null ? 'no leader\n' : `leader=${leader.value} key=${leader.key} token=${leader.token}\n`;
}
