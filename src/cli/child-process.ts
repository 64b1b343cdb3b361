import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { constants } from 'node:os';

/**
 * The command that `lock`, `elect` and `barrier enter` run: inherits our stdio, gets extra
 * environment variables, and can be stopped with SIGTERM then SIGKILL after a grace period
 * (what `consul lock` does on lock loss).
 */
export class ChildCommand {
  private readonly child: ChildProcess;
  /** Resolves with the exit code: the child's own, or 128 + signal number when a signal ended it. */
  readonly exited: Promise<number>;

  constructor(argv: readonly string[], env: Record<string, string>) {
    const [file, ...args] = argv;
    if (file === undefined) throw new Error('ChildCommand needs a command');
    this.child = spawn(file, args, { stdio: 'inherit', env: { ...process.env, ...env } });
    this.exited = new Promise((resolve) => {
      this.child.once('error', (error) => {
        process.stderr.write(`conclave: cannot run ${JSON.stringify(file)}: ${error.message}\n`);
        // 127: what a shell reports for a command it cannot find.
        resolve(127);
      });
      this.child.once('exit', (code, signal) => resolve(code ?? 128 + (signal === null ? 0 : (constants.signals[signal] ?? 0))));
    });
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  signal(signal: NodeJS.Signals): void {
    if (this.running) this.child.kill(signal);
  }

  /** Sends `first` (SIGTERM by default), then SIGKILL if the child outlives `graceMs`; resolves with its exit code. */
  async stop(graceMs: number, first: NodeJS.Signals = 'SIGTERM'): Promise<number> {
    this.signal(first);
    let timer: NodeJS.Timeout | undefined;
    const killed = new Promise<void>((resolve) => {
      timer = setTimeout(() => {
        this.signal('SIGKILL');
        resolve();
      }, graceMs);
    });
    try {
      await Promise.race([this.exited, killed]);
      return await this.exited;
    } finally {
      clearTimeout(timer);
    }
  }
}

/** Resolves with the reason when `signal` aborts (at once if it already has). */
export function whenAborted(signal: AbortSignal): Promise<unknown> {
  return new Promise((resolve) => {
    if (signal.aborted) resolve(signal.reason);
    else signal.addEventListener('abort', () => resolve(signal.reason), { once: true });
  });
}
