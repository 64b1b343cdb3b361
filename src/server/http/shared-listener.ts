import { createServer as createHttpServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer as createNetServer } from 'node:net';
import type { Server as NetServer, Socket } from 'node:net';
import { createServer as createTlsServer } from 'node:tls';
import type { TLSSocket } from 'node:tls';

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

/** What a TLS listener serves with: the member's client-port certificate and its client-certificate policy. */
export interface SharedTlsSettings {
  readonly cert: Buffer;
  readonly key: Buffer;
  readonly ca: Buffer | undefined;
  /** Require and verify a client certificate in the handshake (mTLS), as grpc-js's createSsl does with its third argument. */
  readonly clientCertAuth: boolean;
}

type HttpHandler = (req: IncomingMessage, res: ServerResponse) => void;

/** Where a connection that is not HTTP/2 goes (the HTTP/1.1 server, or the peer port's raft streams). */
export type ConnectionSink = (socket: Socket) => void;

/**
 * One plaintext TCP listener serving both gRPC and HTTP/1.1, as etcd serves both on a client
 * URL: the first bytes of each connection decide (see routeByPreface).
 */
export function listenShared(host: string, port: number, h2: H2Sink, http: HttpHandler): Promise<SharedListener> {
  return listenRouted(host, port, undefined, h2, httpSink(http));
}

/**
 * One TLS listener serving both gRPC and HTTP/1.1 on an https client URL, as etcd serves
 * gRPC and /metrics, /health on one port (see listenRouted).
 */
export function listenSharedTls(host: string, port: number, tls: SharedTlsSettings, h2: H2Sink, http: HttpHandler): Promise<SharedListener> {
  return listenRouted(host, port, { settings: tls, chooseProtocol }, h2, httpSink(http));
}

/**
 * A listener whose connections are routed by their first bytes: the HTTP/2 preface to
 * grpc-js, anything else to `other`. With `tls` it terminates TLS itself, then hands the
 * decrypted socket on: grpc-js gets h2 connections through an insecure connection injector
 * (TLS is already done; the socket is still a TLSSocket, so a handler's getAuthContext() sees
 * the verified client certificate), and a connection whose ALPN is not h2 is routed by its
 * first bytes as on a plain port, so a gRPC client that negotiated http/1.1 or no ALPN still
 * reaches grpc-js.
 */
export function listenRouted(
  host: string,
  port: number,
  tls: { readonly settings: SharedTlsSettings; readonly chooseProtocol: (offered: readonly string[]) => string | undefined } | undefined,
  h2: H2Sink,
  other: ConnectionSink,
): Promise<SharedListener> {
  const sockets = new Set<Socket>();
  if (tls === undefined) {
    // TCP_NODELAY on accepted sockets, as Go sets it on etcd's: a response's trailers follow its
    // data in a second write, which Nagle's algorithm would otherwise hold for the client's ACK.
    const server: NetServer = createNetServer({ noDelay: true }, (socket) => {
      track(sockets, socket);
      socket.on('error', () => socket.destroy());
      routeByPreface(socket, h2, other);
    });
    return listenOn(server, host, port, () => dropAll(sockets));
  }
  const server = createTlsServer({
    noDelay: true, // as on the plain listener
    cert: tls.settings.cert,
    key: tls.settings.key,
    ...(tls.settings.ca === undefined ? {} : { ca: tls.settings.ca }),
    requestCert: tls.settings.clientCertAuth,
    rejectUnauthorized: tls.settings.clientCertAuth,
    ALPNCallback: ({ protocols }) => tls.chooseProtocol(protocols),
    // Node's default already, stated because the TLS tests and docs promise it.
    minVersion: 'TLSv1.2',
  });
  // Raw connections are tracked from accept, so close() also ends handshakes in progress.
  server.on('connection', (raw: Socket) => track(sockets, raw));
  // A failed handshake (no client certificate, an untrusted one, TLS 1.1) ends that connection only.
  server.on('tlsClientError', (_error, socket) => socket.destroy());
  server.on('secureConnection', (socket: TLSSocket) => {
    socket.on('error', () => socket.destroy());
    if (socket.alpnProtocol === 'h2') h2.injectConnection(socket);
    else routeByPreface(socket, h2, other);
  });
  return listenOn(server, host, port, () => dropAll(sockets));
}

function httpSink(http: HttpHandler): ConnectionSink {
  const httpServer = createHttpServer(http);
  return (socket) => httpServer.emit('connection', socket);
}

/**
 * The ALPN answer: http/1.1 whenever the client offers it, else h2. grpc-js answers every
 * non-gRPC HTTP/2 request with 415, so an HTTP client that speaks both (curl, browsers,
 * Prometheus' scraper) is given HTTP/1.1 for /metrics and /health; gRPC clients offer h2 alone
 * (grpc-go, grpc-js, grpc-java; the C core adds grpc-exp). A client offering neither is
 * refused in the handshake (no_application_protocol), as Go's TLS server refuses it for etcd.
 */
export function chooseProtocol(offered: readonly string[]): string | undefined {
  if (offered.includes('http/1.1')) return 'http/1.1';
  if (offered.includes('h2')) return 'h2';
  return undefined;
}

/** An HTTP/1.1-only listener (for --listen-metrics-urls). */
export function listenHttp(host: string, port: number, http: HttpHandler): Promise<SharedListener> {
  const server = createHttpServer(http);
  return listenOn(server, host, port, () => server.closeAllConnections());
}

/**
 * Sends a connection that opens with the HTTP/2 preface to grpc-js, anything else to `other`
 * (the HTTP/1.1 handler for /metrics, /health, ...; the raft stream on the peer port). The
 * bytes read to decide are put back before the connection is handed on.
 */
function routeByPreface(socket: Socket, h2: H2Sink, other: ConnectionSink): void {
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
    else other(socket);
    process.nextTick(() => socket.resume());
  };
  socket.once('data', decide);
}

function track(sockets: Set<Socket>, socket: Socket): void {
  sockets.add(socket);
  socket.once('close', () => sockets.delete(socket));
}

/** Ends every accepted connection (the raw sockets: a TLS or HTTP connection ends with its socket). */
function dropAll(sockets: Set<Socket>): void {
  for (const socket of sockets) socket.destroy();
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
