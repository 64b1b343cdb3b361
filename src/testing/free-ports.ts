import { createServer } from 'node:net';

/**
 * Distinct free loopback TCP ports, found by binding port 0 and releasing it. Another process
 * could take one before the member binds it; a test cluster then fails to start with the
 * bind error (rare on a test machine, and reported, never hidden).
 */
export async function freeLoopbackPorts(count: number): Promise<number[]> {
  const ports = new Set<number>();
  while (ports.size < count) ports.add(await freePort());
  return [...ports];
}

/** One free loopback TCP port (see freeLoopbackPorts for the caveat). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      if (address === null || typeof address === 'string') {
        server.close();
        reject(new Error('no port'));
        return;
      }
      server.close(() => resolve(address.port));
    });
  });
}
