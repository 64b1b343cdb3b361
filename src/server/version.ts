import { readFileSync } from 'node:fs';

/**
 * Conclave's own version from the package's package.json (two levels up from src/server,
 * three from dist/src/server), in etcd's version field format (semantic version, no "v"):
 * what Status, /version and `conclave --version` report.
 */
export const CONCLAVE_VERSION: string = readPackageVersion();

/** etcd's cluster version field: major.minor.0 of the server version. */
export function clusterVersion(version: string = CONCLAVE_VERSION): string {
  const match = /^(\d+)\.(\d+)\./.exec(version);
  return match === null ? version : `${match[1]}.${match[2]}.0`;
}

function readPackageVersion(): string {
  for (const relative of ['../../package.json', '../../../package.json']) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(relative, import.meta.url), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'conclave' && typeof pkg.version === 'string') return pkg.version;
    } catch {
      // not at this level
    }
  }
  throw new Error('conclave: package.json not found beside the server code');
}
