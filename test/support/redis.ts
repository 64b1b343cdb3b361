/**
 * A real redis-server for tests on a free loopback port, without persistence; `stop()` kills it.
 * Readiness is polled with PING (bounded).
 */
import { Redis } from 'ioredis';
import { freePort } from './ports.js';
import { ManagedProcess } from './process.js';

export interface RedisServer {
  readonly port: number;
  connect(): Redis;
  stop(): Promise<void>;
}

export async function startRedis(): Promise<RedisServer> {
  const port = await freePort();
  const server = new ManagedProcess('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no']);
  const connections: Redis[] = [];
  const connect = (): Redis => {
    const redis = new Redis({ port, host: '127.0.0.1', lazyConnect: false, maxRetriesPerRequest: 2 });
    redis.on('error', () => {});
    connections.push(redis);
    return redis;
  };
  const probe = new Redis({ port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  probe.on('error', () => {});
  try {
    for (let attempt = 0; ; attempt += 1) {
      if (!server.running) throw new Error(`redis-server exited: ${server.log}`);
      try {
        if (probe.status !== 'ready') await probe.connect();
        if ((await probe.ping()) === 'PONG') break;
      } catch {
        // not up yet
      }
      if (attempt > 200) throw new Error(`redis-server not ready: ${server.log}`);
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  } finally {
    probe.disconnect();
  }
  return {
    port,
    connect,
    async stop() {
      for (const c of connections) c.disconnect();
      await server.kill();
    },
  };
}
