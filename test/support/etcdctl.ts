/** Runs etcdctl (API v3) against test endpoints: one-shot commands and long-running ones. */
import { execFile } from 'node:child_process';
import { ManagedProcess } from './process.js';

export function etcdctlArgs(endpoints: string[], args: string[]): string[] {
  return [`--endpoints=${endpoints.join(',')}`, '--dial-timeout=3s', ...args];
}

export function etcdctl(endpoints: string[], args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('etcdctl', etcdctlArgs(endpoints, args), { env: { ...process.env, ETCDCTL_API: '3' }, timeout: 15_000 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`etcdctl ${args.join(' ')} failed: ${stderr || String(error)}`));
      else resolve(stdout);
    });
  });
}

/** A long-running etcdctl (lock, elect, watch) whose output lines can be awaited. */
export class EtcdctlProcess extends ManagedProcess {
  constructor(endpoints: string[], args: string[]) {
    super('etcdctl', etcdctlArgs(endpoints, args), { ...process.env, ETCDCTL_API: '3' });
  }

  lines(): string[] {
    return this.log.split('\n').map((line) => line.trim()).filter((line) => line.length > 0);
  }
}
