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

/** Ports this process handed out lately: a port is never handed out twice in a row of these. */
const handedOut = new Set<number>();
const MAX_REMEMBERED_PORTS = 4096;
const MAX_ATTEMPTS = 100;

/**
 * One free loopback TCP port (see freeLoopbackPorts for the caveat). A port handed out before
 * and not yet bound by its taker looks free to the kernel again, so callers that allocate ports
 * for several members before starting any (a test cluster) would get the same port twice: this
 * process remembers what it handed out and skips it.
 */
export async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    const port = await kernelFreePort();
    if (handedOut.has(port)) continue;
    handedOut.add(port);
    if (handedOut.size > MAX_REMEMBERED_PORTS) handedOut.delete(handedOut.values().next().value!);
    return port;
  }
  throw new Error(`no loopback port free that this process has not handed out already (${MAX_ATTEMPTS} tries)`);
}

function kernelFreePort(): Promise<number> {
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
