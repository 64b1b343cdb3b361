import { Option } from 'commander';
import type { Command } from 'commander';
import { LockTimeoutError, Mutex } from '../../index.js';
import type { HeldLock } from '../../index.js';
import { ChildCommand, whenAborted } from '../child-process.js';
import { addClientFlags, clientFromFlags, nonNegativeInteger, positiveInteger } from '../client-flags.js';
import type { ClientFlags } from '../client-flags.js';
import { EXIT_LOCK_LOST, EXIT_LOCK_TIMEOUT, EXIT_OK, action, exitCodeForSignal } from '../context.js';
import type { CliContext } from '../context.js';
import { InterruptedError, stopSignal } from '../stop-signal.js';
import { failure } from './failure.js';

export interface LockFlags extends ClientFlags {
  readonly ttl: number;
  readonly timeout?: number;
  readonly gracePeriod: number;
}

/** --ttl and --grace-period, shared by `lock` and `elect`. */
export function addHolderFlags(command: Command): Command {
  return command
    .addOption(new Option('--ttl <seconds>', 'session lease TTL: how long a crashed holder keeps the lock').default(10).argParser(positiveInteger('--ttl')))
    .addOption(new Option('--grace-period <ms>', 'after SIGTERM, how long the command may take to exit before SIGKILL').default(5_000).argParser(nonNegativeInteger('--grace-period')));
}

export function register(program: Command, context: CliContext): void {
  const command = program
    .command('lock')
    .description('hold a distributed lock (etcd\'s layout: excludes `etcdctl lock` on the same name) while a command runs')
    .argument('<name>', 'lock name')
    .argument('[command...]', 'the command to run while holding the lock (after --); without one, prints the lock key and holds until Ctrl-C')
    .addOption(new Option('--timeout <ms>', `give up waiting after this long (exit ${EXIT_LOCK_TIMEOUT})`).argParser(nonNegativeInteger('--timeout')))
    .addHelpText('after', `
The command gets CONCLAVE_LOCK_KEY and CONCLAVE_LOCK_TOKEN (the fencing token: the lock key's
create revision, increasing from holder to holder), and etcdctl's ETCD_LOCK_KEY/ETCD_LOCK_REV.
If the lock is lost (the session lease expired or was revoked) the command gets SIGTERM, then
SIGKILL after --grace-period. Ctrl-C (SIGINT) or SIGTERM is passed to the command; once it has
exited the lock is released at once (the lease is revoked, not left to expire).

Exit codes: the command's own; ${EXIT_LOCK_TIMEOUT} lock not acquired within --timeout; ${EXIT_LOCK_LOST} lock lost
(the command was terminated); 130/143 interrupted by SIGINT/SIGTERM; 1 cluster unreachable or a
call failed; 2 bad command line.

Example: conclave lock orders --ttl 15 -- ./nightly-job.sh`);
  addHolderFlags(addClientFlags(command)).action(action(context, (name: string, argv: string[], flags: LockFlags) => runLock(context, name, argv, flags)));
}

export async function runLock(context: CliContext, name: string, argv: readonly string[], flags: LockFlags): Promise<number> {
  const { io } = context;
  const stop = stopSignal(io);
  const client = clientFromFlags(flags);
  try {
    const session = await client.session({ ttlSeconds: flags.ttl, signal: stop.signal });
    let held: HeldLock;
    try {
      held = await new Mutex(session, name).lock({ signal: stop.signal, ...(flags.timeout === undefined ? {} : { timeoutMs: flags.timeout }) });
    } catch (error) {
      if (error instanceof LockTimeoutError) {
        io.err(`conclave lock: ${error.message}\n`);
        return EXIT_LOCK_TIMEOUT;
      }
      throw error;
    }
    const env = { CONCLAVE_LOCK_KEY: held.key, CONCLAVE_LOCK_TOKEN: held.token.toString(), ETCD_LOCK_KEY: held.key, ETCD_LOCK_REV: held.token.toString() };
    return await holdWhile(context, 'lock', held.signal, stop.signal, argv, env, flags.gracePeriod, () => io.out(`${held.key}\n`), () => held.unlock());
  } catch (error) {
    return failure(io, 'lock', error);
  } finally {
    stop.dispose();
    // Revokes the session lease: whatever is left of the lock goes at once.
    await client.close().catch(() => {});
  }
}

/**
 * Runs `argv` (or, without one, just waits) while `held` is not aborted. Shared by lock and
 * elect: loss stops the command (SIGTERM, then SIGKILL) and exits EXIT_LOCK_LOST; a stop
 * signal is passed to the command and, once it exited, `release` runs.
 */
export async function holdWhile(
  context: CliContext,
  what: string,
  held: AbortSignal,
  stop: AbortSignal,
  argv: readonly string[],
  env: Record<string, string>,
  graceMs: number,
  announce: () => void,
  release: () => Promise<void>,
): Promise<number> {
  const { io } = context;
  if (argv.length === 0) {
    announce();
    const reason = await Promise.race([whenAborted(held), whenAborted(stop)]);
    if (held.aborted && !stop.aborted) {
      io.err(`conclave ${what}: lost: ${describe(reason)}\n`);
      return EXIT_LOCK_LOST;
    }
    // Without a command, Ctrl-C is how a holder lets go: a normal end.
    await release();
    return EXIT_OK;
  }
  const child = new ChildCommand(argv, env);
  const outcome = await Promise.race([
    child.exited.then((code) => ({ kind: 'exited' as const, code })),
    whenAborted(held).then((reason) => ({ kind: 'lost' as const, reason })),
    whenAborted(stop).then((reason) => ({ kind: 'stopped' as const, reason })),
  ]);
  if (outcome.kind === 'exited') {
    await release();
    return outcome.code;
  }
  if (outcome.kind === 'lost') {
    io.err(`conclave ${what}: lost (${describe(outcome.reason)}); stopping the command\n`);
    await child.stop(graceMs);
    return EXIT_LOCK_LOST;
  }
  const signal = outcome.reason instanceof InterruptedError ? outcome.reason.signal : 'SIGTERM';
  await child.stop(graceMs, signal);
  await release();
  return exitCodeForSignal(signal);
}

function describe(reason: unknown): string {
  return reason instanceof Error ? reason.message : String(reason);
}
