import { ConclaveError } from '../base/errors.js';
import type { CommandIo } from './server-command.js';

/** The reason a command's stop signal aborts with: the user pressed Ctrl-C or the process got SIGTERM. */
export class InterruptedError extends ConclaveError {
  constructor(readonly signal: NodeJS.Signals) {
    super('ERR_INTERRUPTED', `interrupted by ${signal}`);
    this.name = 'InterruptedError';
  }
}

/** An AbortSignal that aborts on the process's first SIGINT/SIGTERM; dispose() removes the handler. */
export function stopSignal(io: CommandIo): { signal: AbortSignal; dispose(): void } {
  const controller = new AbortController();
  const remove = io.onStopSignal((name) => {
    if (!controller.signal.aborted) controller.abort(new InterruptedError(name));
  });
  return { signal: controller.signal, dispose: remove };
}
