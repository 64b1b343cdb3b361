/**
 * `conclave <command>` as a real process (from source, node --import tsx), in its own process
 * group so a test can kill -9 it together with the command it runs, as a crashed host would
 * lose both. Output is kept; stdout is also split into lines for assertions.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { repoRoot } from '../../integration/support/conclave-process.js';

const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of live) killGroup(child, 'SIGKILL');
});

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  try {
    process.kill(-child.pid!, signal);
  } catch {
    // already gone
  }
}

export class CliProcess {
  readonly child: ChildProcess;
  stdout = '';
  stderr = '';
  readonly exited: Promise<number | null>;

  constructor(readonly args: readonly string[], env: NodeJS.ProcessEnv = {}) {
    this.child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], {
      cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'], detached: true, env: { ...process.env, ...env },
    });
    this.child.stdout!.on('data', (chunk: Buffer) => (this.stdout += chunk.toString('utf8')));
    this.child.stderr!.on('data', (chunk: Buffer) => (this.stderr += chunk.toString('utf8')));
    live.add(this.child);
    this.exited = new Promise((resolve) => this.child.once('exit', (code) => {
      live.delete(this.child);
      resolve(code);
    }));
  }

  lines(): string[] {
    return this.stdout.split('\n').filter((line) => line !== '');
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** A signal to the conclave process alone (as `kill -INT <pid>`). */
  signal(signal: NodeJS.Signals): void {
    if (this.running) this.child.kill(signal);
  }

  /** kill -9 of the process group: conclave and the command it runs. */
  async killAll(): Promise<void> {
    killGroup(this.child, 'SIGKILL');
    await this.exited;
  }

  describe(): string {
    return `conclave ${this.args.join(' ')}\n--- stdout\n${this.stdout}\n--- stderr\n${this.stderr.slice(-4000)}`;
  }
}

/** The targets every process test runs against: 3 conclave server processes, and real etcd 3.4. */
export interface Target {
  readonly name: string;
  readonly endpoints: string[];
  stop(): Promise<void>;
}
