import { createServer as createHttpServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer as createNetServer } from 'node:net';
import type { Server as NetServer, Socket } from 'node:net';

/** The HTTP/2 connection preface every gRPC client opens with (RFC 9113 section 3.4). */
const H2_PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n');

/** Where an h2 (gRPC) connection is handed: grpc-js's connection injector. */
export interface H2Sink {
  injectConnection(socket: Socket): void;
}

export interface SharedListener {
  readonly port: number;
  close(): Promise<void>;
}

/**
 * One plaintext TCP listener serving both gRPC and HTTP/1.1, as etcd serves both on a client
 * URL: the first bytes of each connection decide. A connection that opens with the HTTP/2
 * preface goes to grpc-js, anything else to the HTTP/1.1 handler (/metrics, /health, ...).
 * The bytes read to decide are put back before the connection is handed on.
 */
export function listenShared(host: string, port: number, h2: H2Sink, http: (req: IncomingMessage, res: ServerResponse) => void): Promise<SharedListener> {
  const httpServer = createHttpServer(http);
  const sockets = new Set<Socket>();
  const server: NetServer = createNetServer((socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    let seen = Buffer.alloc(0);
    const decide = (chunk: Buffer): void => {
      seen = Buffer.concat([seen, chunk]);
      const n = Math.min(seen.length, H2_PREFACE.length);
      const isH2Prefix = seen.subarray(0, n).equals(H2_PREFACE.subarray(0, n));
      if (isH2Prefix && seen.length < H2_PREFACE.length) {
        socket.once('data', decide); // not enough bytes yet to tell
        return;
      }
      socket.pause();
      socket.unshift(seen);
      if (isH2Prefix) h2.injectConnection(socket);
      else httpServer.emit('connection', socket);
      process.nextTick(() => socket.resume());
    };
    socket.once('data', decide);
    socket.on('error', () => socket.destroy());
  });
  return listenOn(server, host, port, () => {
    httpServer.closeAllConnections();
    for (const socket of sockets) socket.destroy();
  });
}

/** An HTTP/1.1-only listener (for --listen-metrics-urls). */
export function listenHttp(host: string, port: number, http: (req: IncomingMessage, res: ServerResponse) => void): Promise<SharedListener> {
  const server = createHttpServer(http);
  return listenOn(server, host, port, () => server.closeAllConnections());
}

/** Listens on host:port; `close` stops listening, then `dropConnections` ends the open ones. */
function listenOn(server: NetServer, host: string, port: number, dropConnections: () => void): Promise<SharedListener> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host, port, exclusive: true }, () => {
      server.off('error', reject);
      const address = server.address();
      resolve({
        port: typeof address === 'object' && address !== null ? address.port : port,
        close: () => new Promise<void>((done) => {
          server.close(() => done());
          dropConnections();
        }),
      });
    });
  });
}
