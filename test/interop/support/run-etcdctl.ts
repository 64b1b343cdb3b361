/**
 * etcdctl (API v3) as a one-shot command whose exit code, stdout and stderr are all kept, so a
 * check can assert the exit status as well as the output (test/support/etcdctl.ts only
 * resolves or rejects). Optional stdin (for `etcdctl txn`).
 */
import { spawn } from 'node:child_process';
import { etcdctlArgs } from '../../support/etcdctl.js';

export interface EtcdctlResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Generous: the CI machine is loaded, and a command may wait out a leader election. */
const COMMAND_TIMEOUT_MS = 30_000;

export function runEtcdctl(endpoints: readonly string[], args: readonly string[], stdin?: string): Promise<EtcdctlResult> {
  return new Promise((resolve, reject) => {
    const child = spawn('etcdctl', etcdctlArgs([...endpoints], [...args]), { env: { ...process.env, ETCDCTL_API: '3' }, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    const timer = setTimeout(() => child.kill('SIGKILL'), COMMAND_TIMEOUT_MS);
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.end(stdin ?? '');
  });
}

/** Runs a command that must succeed (exit 0); returns its stdout. */
export async function ok(endpoints: readonly string[], ...args: string[]): Promise<string> {
  const result = await runEtcdctl(endpoints, args);
  if (result.code !== 0) throw new Error(`etcdctl ${args.join(' ')} exited ${result.code}: ${result.stderr}`);
  return result.stdout;
}

/** Runs a command that must fail (non-zero exit); returns its stderr. */
export async function fails(endpoints: readonly string[], ...args: string[]): Promise<string> {
  const result = await runEtcdctl(endpoints, args);
  if (result.code === 0) throw new Error(`etcdctl ${args.join(' ')} succeeded, expected a failure: ${result.stdout}`);
  return result.stderr;
}

/** Plain output split into non-empty trimmed lines. */
export function lines(text: string): string[] {
  return text.split('\n').map((line) => line.trim()).filter((line) => line !== '');
}
