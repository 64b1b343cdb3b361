import { InvalidArgumentError } from 'commander';
import { ConclaveError } from '../../base/errors.js';
import { EXIT_FAILED, EXIT_USAGE, exitCodeForSignal } from '../context.js';
import { UsageError } from '../flags.js';
import type { CommandIo } from '../server-command.js';
import { InterruptedError } from '../stop-signal.js';

/** Prints a command's failure on one line and picks its exit code (2 usage, 130/143 interrupted, 1 otherwise). */
export function failure(io: CommandIo, command: string, error: unknown): number {
  if (error instanceof InterruptedError) return exitCodeForSignal(error.signal);
  const message = error instanceof Error ? error.message : String(error);
  const code = ConclaveError.is(error) ? ` [${error.code}]` : '';
  io.err(`conclave ${command}: ${message}${code}\n`);
  return error instanceof UsageError || error instanceof InvalidArgumentError ? EXIT_USAGE : EXIT_FAILED;
}
