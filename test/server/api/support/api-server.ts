/** Starts the gRPC API over a MemoryPort on a free loopback port; `stop()` in afterAll/afterEach. */
import { createGrpcServer } from '../../../../src/server/api/grpc-server.js';
import type { GrpcServerOptions } from '../../../../src/server/api/grpc-server.js';
import { MemoryPort, type MemoryPortOptions } from './memory-port.js';

export interface RunningApi {
  readonly port: MemoryPort;
  /** `127.0.0.1:<port>` */
  readonly endpoint: string;
  stop(): Promise<void>;
}

export async function startApi(options: { port?: MemoryPortOptions; server?: Partial<GrpcServerOptions> } = {}): Promise<RunningApi> {
  const port = new MemoryPort(options.port);
  const api = createGrpcServer(port, { clock: port.clock, ...options.server });
  const bound = await api.bind('127.0.0.1:0');
  return {
    port,
    endpoint: `127.0.0.1:${bound}`,
    async stop() {
      api.forceShutdown();
      port.close();
    },
  };
}
