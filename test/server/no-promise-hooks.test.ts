// At run time, no code in the server's process turns on async context tracking: a separate
// process (support/promise-hook-probe.ts) wraps AsyncLocalStorage.run/enterWith, async hook
// enable and V8's promiseHooks before loading the server, then serves puts, gets, a watch, a
// lease, a Mutex and a v3lock over gRPC and in-process. On Node 20 any of them turns promise
// hooks on for the whole process (every promise then pays), so the probe must see none. Its
// own process: the test runner may use AsyncLocalStorage itself.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const PROBE = join(import.meta.dirname, 'support/promise-hook-probe.ts');

async function probe(...args: string[]): Promise<string[]> {
  const { stdout } = await run(process.execPath, ['--import', 'tsx', PROBE, ...args], { cwd: join(import.meta.dirname, '../..'), timeout: 60_000 });
  const line = stdout.trim().split('\n').at(-1) ?? '';
  return (JSON.parse(line) as { uses: string[] }).uses;
}

describe('no promise hooks in a serving member', () => {
  it('serving calls over gRPC and in-process never enables AsyncLocalStorage, async hooks or promise hooks', async () => {
    expect(await probe()).toEqual([]);
  });

  it('the probe sees an AsyncLocalStorage.run (it is not blind)', async () => {
    const uses = await probe('--control');
    expect(uses.length).toBeGreaterThan(0);
    expect(uses[0]).toMatch(/^AsyncLocalStorage\.run/);
  });
});
