// startMember checks its listen addresses before touching the data directory, so a start that
// fails on a busy port leaves nothing behind that a retry would mistake for a cluster.
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { startMember } from '../../src/server/index.js';

describe('startMember', () => {
  it('refuses a busy client port before bootstrapping anything', async () => {
    const busy = createServer();
    await new Promise<void>((resolve) => busy.listen({ host: '127.0.0.1', port: 0 }, resolve));
    const port = (busy.address() as { port: number }).port;
    const dataDir = await mkdtemp(join(tmpdir(), 'conclave-start-'));
    try {
      await expect(startMember({ dataDir, listenClientUrls: [`http://127.0.0.1:${port}`], listenPeerUrls: ['http://127.0.0.1:0'], initialAdvertisePeerUrls: ['http://127.0.0.1:1'] }))
        .rejects.toMatchObject({ code: 'ERR_ADDRESS_IN_USE' });
      expect(await readdir(dataDir)).toEqual([]);
    } finally {
      busy.close();
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
