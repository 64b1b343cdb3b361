import type { Command } from 'commander';
import type { CommandIo } from './server-command.js';

/**
 * What a command module gets when it registers: the process seam (output, stop signals) and
 * the slot its action writes the exit code to. Every command lives in its own module exporting
 * `register(program, context)`, so adding one is one line in run.ts.
 */
export interface CliContext {
  readonly io: CommandIo;
  exitCode: number;
}

export type Register = (program: Command, context: CliContext) => void;

/** Wraps an async command body returning an exit code as a commander action. */
export function action<A extends unknown[]>(context: CliContext, body: (...args: A) => Promise<number>): (...args: A) => Promise<void> {
  return async (...args: A) => {
    context.exitCode = await body(...args);
  };
}

/** Exit codes shared by the client commands (lock/elect/barrier add their own, see docs/cli.md). */
export const EXIT_OK = 0;
/** The cluster could not be reached, or a call failed. */
export const EXIT_FAILED = 1;
export const EXIT_USAGE = 2;
/** `lock --timeout` / `elect --timeout` ran out before the lock or leadership was won. */
export const EXIT_LOCK_TIMEOUT = 124;
/** The lock (or leadership) was lost while the command ran; the command was terminated. */
export const EXIT_LOCK_LOST = 125;
/** 128 + the signal number, as shells report a signal: 130 for SIGINT, 143 for SIGTERM. */
export function exitCodeForSignal(signal: NodeJS.Signals): number {
  return 128 + (signal === 'SIGINT' ? 2 : signal === 'SIGTERM' ? 15 : signal === 'SIGHUP' ? 1 : 9);
}
