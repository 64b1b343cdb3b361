import { describe, expect, it } from 'vitest';
import { SimFileSystem } from '../../src/storage/sim-file-system.js';
import { loadJoinedId, saveJoinedId } from '../../src/server/joined-identity.js';

describe('joined member id file', () => {
  it('a bootstrap member has none; a saved id survives a power loss right after the save', async () => {
    const fs = new SimFileSystem(1);
    await fs.mkdirp('/d/member');
    await fs.syncDir('/d');
    expect(await loadJoinedId(fs, '/d/member')).toBeUndefined();
    await saveJoinedId(fs, '/d/member', 0xe58edd502e81aaan);
    fs.crashNow();
    fs.reboot();
    expect(await loadJoinedId(fs, '/d/member')).toBe(0xe58edd502e81aaan);
    // A 64-bit id keeps every bit.
    await saveJoinedId(fs, '/d/member', 0xfda076d1e7e3bccan);
    expect(await loadJoinedId(fs, '/d/member')).toBe(0xfda076d1e7e3bccan);
  });

  it('a damaged file is a typed error, not a guessed id', async () => {
    const fs = new SimFileSystem(2);
    await fs.mkdirp('/d/member');
    await saveJoinedId(fs, '/d/member', 0x1234n);
    fs.overwrite('/d/member/joined-id', 21, new TextEncoder().encode('zz'));
    await expect(loadJoinedId(fs, '/d/member')).rejects.toMatchObject({ code: 'ERR_JOINED_ID_CORRUPT' });
  });
});
