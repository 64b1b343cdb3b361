import { Option } from 'commander';
import type { Command } from 'commander';
import { Barrier, DoubleBarrier } from '../../index.js';
import { ChildCommand, whenAborted } from '../child-process.js';
import { addClientFlags, clientFromFlags, positiveInteger } from '../client-flags.js';
import type { ClientFlags } from '../client-flags.js';
import { EXIT_OK, action, exitCodeForSignal } from '../context.js';
import type { CliContext } from '../context.js';
import { InterruptedError, stopSignal } from '../stop-signal.js';
import { failure } from './failure.js';

interface EnterFlags extends ClientFlags {
  readonly count: number;
  readonly ttl: number;
}

export function register(program: Command, context: CliContext): void {
  const barrier = program.command('barrier').description('barriers: hold/release/wait on one key, or enter a double barrier of N participants');
  const simple = (name: 'wait' | 'hold' | 'release', description: string) =>
    addClientFlags(barrier.command(name).description(description).argument('<name>', 'barrier key'))
      .action(action(context, (key: string, flags: ClientFlags) => runSimple(context, name, key, flags)));
  simple('hold', 'raise the barrier (fails if it already stands); it stays until `barrier release`');
  simple('release', 'lower the barrier, letting every waiter through');
  simple('wait', 'block until the barrier is not held (returns at once if it is not)');
  addClientFlags(barrier.command('enter')
    .description('double barrier: wait until --count participants entered, run the command, then wait until all left')
    .argument('<name>', 'barrier key')
    .argument('[command...]', 'what to run between enter and leave (after --)')
    .requiredOption('--count <n>', 'participants the barrier waits for', positiveInteger('--count'))
    .addOption(new Option('--ttl <seconds>', 'session lease TTL: a crashed participant drops out after this long').default(10).argParser(positiveInteger('--ttl')))
    .addHelpText('after', '\nExit code: the command\'s (1 on a barrier error, 130/143 when interrupted).'))
    .action(action(context, (key: string, argv: string[], flags: EnterFlags) => runEnter(context, key, argv, flags)));
}

async function runSimple(context: CliContext, verb: 'wait' | 'hold' | 'release', key: string, flags: ClientFlags): Promise<number> {
  const stop = stopSignal(context.io);
  const client = clientFromFlags(flags);
  try {
    const barrier = new Barrier(client, key);
    if (verb === 'hold') await barrier.hold({ signal: stop.signal });
    else if (verb === 'release') await barrier.release({ signal: stop.signal });
    else await barrier.wait({ signal: stop.signal });
    return EXIT_OK;
  } catch (error) {
    return failure(context.io, `barrier ${verb}`, error);
  } finally {
    stop.dispose();
    await client.close().catch(() => {});
  }
}

async function runEnter(context: CliContext, key: string, argv: readonly string[], flags: EnterFlags): Promise<number> {
  const stop = stopSignal(context.io);
  const client = clientFromFlags(flags);
  try {
    const session = await client.session({ ttlSeconds: flags.ttl, signal: stop.signal });
    const barrier = new DoubleBarrier(session, key, flags.count);
    await barrier.enter({ signal: stop.signal });
    let code = EXIT_OK;
    if (argv.length > 0) {
      const child = new ChildCommand(argv, { CONCLAVE_BARRIER_KEY: key });
      const outcome = await Promise.race([child.exited, whenAborted(stop.signal).then(() => undefined)]);
      if (outcome === undefined) {
        const reason = stop.signal.reason as InterruptedError;
        await child.stop(5_000, reason.signal);
        return exitCodeForSignal(reason.signal);
      }
      code = outcome;
    }
    await barrier.leave({ signal: stop.signal });
    return code;
  } catch (error) {
    if (error instanceof InterruptedError) return exitCodeForSignal(error.signal);
    return failure(context.io, 'barrier enter', error);
  } finally {
    stop.dispose();
    await client.close().catch(() => {});
  }
}
