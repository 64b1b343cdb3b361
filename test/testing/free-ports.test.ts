// Ports handed out by one process stay distinct even before anyone binds them: a test cluster
// allocates every member's ports before it starts any member.
import { describe, expect, it } from 'vitest';
import { freeLoopbackPorts, freePort } from '../../src/testing/free-ports.js';

describe('free loopback ports', () => {
  it('never hands out the same port twice in one process, even unbound', async () => {
    const ports = [...(await freeLoopbackPorts(50)), ...(await Promise.all(Array.from({ length: 50 }, () => freePort())))];
    expect(new Set(ports).size).toBe(ports.length);
  });
});
