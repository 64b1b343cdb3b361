/**
 * `conclave server` as a child process: spawned from source (node --import tsx
 * src/cli/main.ts) with the repository as its working directory, output kept for failure
 * messages, killed for sure (SIGKILL) by `kill()`.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
const keepBytes = 256 * 1024;

/** Every child still running; killed when the test process exits however it exits (afterAll is the normal path). */
const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of live) child.kill('SIGKILL');
});

export class ConclaveProcess {
  readonly child: ChildProcess;
  private output = '';
  /** Resolves with the exit code (null when killed by a signal) and the signal. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  constructor(readonly args: readonly string[]) {
    this.child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
    const keep = (chunk: Buffer): void => {
      this.output = (this.output + chunk.toString('utf8')).slice(-keepBytes);
    };
    this.child.stdout?.on('data', keep);
    this.child.stderr?.on('data', keep);
    live.add(this.child);
    this.exited = new Promise((resolve) => this.child.once('exit', (code, signal) => {
      live.delete(this.child);
      resolve({ code, signal });
    }));
  }

  get log(): string {
    return this.output;
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  signal(signal: NodeJS.Signals): void {
    if (this.running) this.child.kill(signal);
  }

  /** kill -9, then wait for the exit. */
  async kill(): Promise<void> {
    if (!this.running) return;
    this.child.kill('SIGKILL');
    await this.exited;
  }
}
