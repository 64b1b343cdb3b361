// Row "version in endpoint status": Conclave reports its own version (package.json) in etcd's
// version field format, and `conclave --version` prints the same.
import { readFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { missingBinaries } from '../../support/binaries.js';
import { etcdctl } from '../../support/etcdctl.js';
import { cleanup, spawnConclave, startSolo } from '../support/solo.js';
import { repoRoot } from '../support/conclave-process.js';

const skip = missingBinaries('etcdctl');
afterAll(cleanup);
const { version } = JSON.parse(readFileSync(`${repoRoot}package.json`, 'utf8')) as { version: string };

describe.skipIf(skip !== undefined)('the version', () => {
  it('is package.json\'s in endpoint status and in conclave --version', async () => {
    expect(version).toMatch(/^\d+\.\d+\.\d+$/);
    const solo = await startSolo();
    const status = JSON.parse(await etcdctl([solo.endpoint], ['endpoint', 'status', '-w', 'json'])) as Array<{ Status: { version: string } }>;
    expect(status[0]!.Status.version).toBe(version);
    const cli = spawnConclave(['--version']);
    expect((await cli.exited).code).toBe(0);
    expect(cli.log).toBe(`conclave ${version}\n`);
  }, 60_000);
});
