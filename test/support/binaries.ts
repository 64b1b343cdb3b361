/**
 * Finding the external programs the integration suites need. With `CI` set a missing binary is
 * an error (the suite must fail, not skip); locally the suite is skipped with the reason.
 */
import { execFileSync } from 'node:child_process';

export function findBinary(name: string): string | undefined {
  try {
    return execFileSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' }).trim() || undefined;
  } catch {
    return undefined;
  }
}

/**
 * Returns undefined when every binary is present, otherwise the reason to skip. Throws when
 * `process.env.CI` is set and one is missing.
 */
export function missingBinaries(...names: string[]): string | undefined {
  const missing = names.filter((name) => findBinary(name) === undefined);
  if (missing.length === 0) return undefined;
  const reason = `${missing.join(', ')} not found on PATH (Debian: apt-get install -y etcd-server etcd-client redis-server)`;
  if (process.env.CI) throw new Error(`CI requires ${reason}`);
  return reason;
}
