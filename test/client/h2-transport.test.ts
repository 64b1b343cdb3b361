// Method: the SDK's own HTTP/2 transport (src/client/h2/) against a scripted node:http2 server
// that answers each call as its `scenario` metadata says: good answers, gRPC errors in
// trailers or trailers-only responses, non-gRPC HTTP statuses, oversized and malformed
// bodies, resets, silence. Every failure scenario also runs through the grpc-js channel, and
// both must report the same gRPC code and details (errors.ts maps them by those). Then:
// cancellation reaches the server as RST_STREAM(CANCEL), a restarted server is reconnected
// to, the framing limit and grpc-message decoding in isolation.
import * as http2 from 'node:http2';
import { connect as tcpConnect, createServer as createTcpServer } from 'node:net';
import type { AddressInfo, Socket } from 'node:net';
import { create, toBinary } from '@bufbuild/protobuf';
import * as grpc from '@grpc/grpc-js';
import { afterEach, describe, expect, it } from 'vitest';
import { KV, RangeRequestSchema, RangeResponseSchema } from '../../src/gen/etcdserverpb/rpc_pb.js';
import type { RangeResponse } from '../../src/gen/etcdserverpb/rpc_pb.js';
import { GrpcChannel } from '../../src/client/channel.js';
import type { Channel } from '../../src/client/channel.js';
import { GrpcStatus } from '../../src/client/errors.js';
import { H2Channel } from '../../src/client/h2/channel.js';
import { frameMessage, MessageReader } from '../../src/client/h2/framing.js';
import { decodeGrpcMessage } from '../../src/client/h2/status.js';
import { waitFor } from '../support/wait.js';

const MAX_RECEIVE_BYTES = 4096;

const rangeResponse = (count: bigint): Buffer => frameMessage(toBinary(RangeResponseSchema, create(RangeResponseSchema, { count })));

type Scenario = (stream: http2.ServerHttp2Stream) => void;

const grpcHeaders = { ':status': 200, 'content-type': 'application/grpc' };

const scenarios: Record<string, Scenario> = {
  ok: (stream) => {
    stream.respond(grpcHeaders, { waitForTrailers: true });
    stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
    stream.end(rangeResponse(7n));
  },
  // The answer split over several DATA frames.
  'ok-split': (stream) => {
    const body = rangeResponse(9n);
    stream.respond(grpcHeaders, { waitForTrailers: true });
    stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
    stream.write(body.subarray(0, 2));
    setImmediate(() => {
      stream.write(body.subarray(2, 4));
      setImmediate(() => stream.end(body.subarray(4)));
    });
  },
  'error-trailers': (stream) => {
    stream.respond(grpcHeaders, { waitForTrailers: true });
    stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '5', 'grpc-message': 'etcdserver: requested lease not found', 'x-extra': 'kept' }));
    stream.end();
  },
  'trailers-only': (stream) => {
    stream.respond({ ...grpcHeaders, 'grpc-status': '14', 'grpc-message': 'etcdserver: no leader' }, { endStream: true });
  },
  'percent-encoded': (stream) => {
    stream.respond({ ...grpcHeaders, 'grpc-status': '3', 'grpc-message': 'bad %25 value caf%C3%A9' }, { endStream: true });
  },
  'http-503': (stream) => {
    stream.respond({ ':status': 503, 'content-type': 'text/plain' });
    stream.end('service unavailable');
  },
  // An HTML error page: its first bytes read as a huge frame length; the HTTP status wins.
  'http-404-html': (stream) => {
    stream.respond({ ':status': 404, 'content-type': 'text/html' });
    stream.end('<html><body>not found</body></html>');
  },
  'http-401-empty': (stream) => {
    stream.respond({ ':status': 401 }, { endStream: true });
  },
  'too-large': (stream) => {
    stream.respond(grpcHeaders, { waitForTrailers: true });
    stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
    stream.end(frameMessage(toBinary(RangeResponseSchema, create(RangeResponseSchema, { kvs: [{ key: Buffer.alloc(MAX_RECEIVE_BYTES + 10, 1) }] }))));
  },
  'no-message': (stream) => {
    stream.respond(grpcHeaders, { waitForTrailers: true });
    stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
    stream.end();
  },
  'two-messages': (stream) => {
    stream.respond(grpcHeaders, { waitForTrailers: true });
    stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
    stream.end(Buffer.concat([rangeResponse(1n), rangeResponse(2n)]));
  },
  'no-status': (stream) => {
    stream.respond(grpcHeaders);
    stream.end(rangeResponse(1n));
  },
  'garbage-message': (stream) => {
    stream.respond(grpcHeaders, { waitForTrailers: true });
    stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
    stream.end(frameMessage(Buffer.from([0xff, 0xff, 0xff])));
  },
  'reset-refused': (stream) => {
    stream.close(http2.constants.NGHTTP2_REFUSED_STREAM);
  },
  'reset-internal': (stream) => {
    stream.close(http2.constants.NGHTTP2_INTERNAL_ERROR);
  },
  silent: () => {},
};

interface ScriptedServer {
  readonly address: string;
  /** rstCode of every server stream that closed, in order. */
  readonly closedStreams: number[];
  /** Scenario of every request received in full, in order. */
  readonly received: string[];
  /** HTTP/2 sessions accepted so far. */
  sessionsAccepted(): number;
  stop(): Promise<void>;
}

async function startServer(port = 0): Promise<ScriptedServer> {
  const server = http2.createServer();
  const sessions = new Set<http2.ServerHttp2Session>();
  const closedStreams: number[] = [];
  const received: string[] = [];
  let accepted = 0;
  server.on('session', (session) => {
    accepted += 1;
    sessions.add(session);
    session.on('close', () => sessions.delete(session));
  });
  server.on('stream', (stream, headers) => {
    stream.on('close', () => closedStreams.push(stream.rstCode));
    stream.on('error', () => {});
    const name = String(headers['scenario']);
    // Read the request before answering, as a gRPC server does.
    stream.resume();
    stream.on('end', () => {
      received.push(name);
      const scenario = scenarios[name];
      if (scenario === undefined) throw new Error(`no scenario ${name}`);
      scenario(stream);
    });
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  const address = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    address,
    closedStreams,
    received,
    sessionsAccepted: () => accepted,
    stop: () => new Promise<void>((resolve) => {
      for (const session of sessions) session.destroy();
      server.close(() => resolve());
    }),
  };
}

const channelOptions = { keepAliveIntervalMs: 10_000, keepAliveTimeoutMs: 5_000, maxReceiveMessageBytes: MAX_RECEIVE_BYTES };

function h2Channel(address: string, maxStreamsPerSession?: number, keepAlive?: { keepAliveIntervalMs: number; keepAliveTimeoutMs: number }): H2Channel {
  return new H2Channel(address, {
    tls: undefined, ...channelOptions, ...keepAlive, streamCredentials: grpc.credentials.createInsecure(),
    streamOptions: { 'grpc.max_receive_message_length': MAX_RECEIVE_BYTES },
    ...(maxStreamsPerSession === undefined ? {} : { maxStreamsPerSession }),
  });
}

function grpcJsChannel(address: string): GrpcChannel {
  return new GrpcChannel(address, grpc.credentials.createInsecure(), { 'grpc.max_receive_message_length': MAX_RECEIVE_BYTES });
}

interface Outcome {
  readonly error: { code: number; details: string; message: string; metadata: unknown } | undefined;
  readonly response: RangeResponse | undefined;
}

function call(channel: Channel, scenario: string): Promise<Outcome> {
  return new Promise((resolve) => {
    channel.unary(KV.method.range, create(RangeRequestSchema, { key: Buffer.from('k') }), { scenario }, (error, response) => {
      resolve({ error: error == null ? undefined : error as Outcome['error'], response });
    });
  });
}

const open: Array<{ close(): void } | ScriptedServer> = [];
afterEach(async () => {
  for (const item of open.splice(0)) {
    if ('stop' in item) await item.stop();
    else item.close();
  }
});

async function setup(): Promise<{ server: ScriptedServer; lean: H2Channel; reference: GrpcChannel }> {
  const server = await startServer();
  const lean = h2Channel(server.address);
  const reference = grpcJsChannel(server.address);
  open.push(lean, reference, server);
  return { server, lean, reference };
}

describe('HTTP/2 transport: answers', () => {
  it('decodes a good answer, whole or split over DATA frames', async () => {
    const { lean } = await setup();
    const whole = await call(lean, 'ok');
    expect(whole.error).toBeUndefined();
    expect(whole.response?.count).toBe(7n);
    const split = await call(lean, 'ok-split');
    expect(split.error).toBeUndefined();
    expect(split.response?.count).toBe(9n);
    expect(lean.usable()).toBe(true);
  });

  it('reports gRPC errors from trailers with their metadata, shaped like grpc-js errors', async () => {
    const { lean } = await setup();
    const { error } = await call(lean, 'error-trailers');
    expect(error).toBeInstanceOf(Error);
    expect(error?.code).toBe(GrpcStatus.NOT_FOUND);
    expect(error?.details).toBe('etcdserver: requested lease not found');
    expect(error?.message).toBe('5 NOT_FOUND: etcdserver: requested lease not found');
    expect((error?.metadata as grpc.Metadata).get('x-extra')).toEqual(['kept']);
    expect((error?.metadata as grpc.Metadata).get('grpc-status')).toEqual([]);
  });

  const sameAsGrpcJs: Array<[string, number, string | RegExp]> = [
    ['error-trailers', GrpcStatus.NOT_FOUND, 'etcdserver: requested lease not found'],
    ['trailers-only', GrpcStatus.UNAVAILABLE, 'etcdserver: no leader'],
    ['percent-encoded', GrpcStatus.INVALID_ARGUMENT, 'bad % value café'],
    ['http-503', GrpcStatus.UNAVAILABLE, 'Received HTTP status code 503'],
    ['http-404-html', GrpcStatus.UNIMPLEMENTED, 'Received HTTP status code 404'],
    ['http-401-empty', GrpcStatus.UNAUTHENTICATED, 'Received HTTP status code 401'],
    ['too-large', GrpcStatus.RESOURCE_EXHAUSTED, /^Received message larger than max \(\d+ vs 4096\)$/],
    ['no-message', GrpcStatus.UNIMPLEMENTED, 'No message received'],
    ['no-status', GrpcStatus.INTERNAL, 'Received RST_STREAM with code 0 (Call ended without gRPC status)'],
    ['garbage-message', GrpcStatus.INTERNAL, /^Response message parsing error: /],
    ['reset-refused', GrpcStatus.UNAVAILABLE, 'Stream refused by server'],
    ['reset-internal', GrpcStatus.INTERNAL, 'Received RST_STREAM with code 2 (Internal server error)'],
  ];

  it.each(sameAsGrpcJs)('%s: the same code and details as grpc-js', async (scenario, code, details) => {
    const { lean, reference } = await setup();
    const mine = await call(lean, scenario);
    const theirs = await call(reference, scenario);
    expect(theirs.error?.code, 'grpc-js (the reference) changed').toBe(code);
    expect(theirs.error?.details).toMatch(details);
    expect(mine.response).toBeUndefined();
    expect(mine.error?.code).toBe(code);
    expect(mine.error?.details).toMatch(details);
    if (typeof details === 'string') expect(mine.error?.details).toBe(theirs.error?.details);
    // A broken call does not mark the endpoint down.
    expect(lean.usable()).toBe(true);
  });

  it('a second response message fails the call with grpc-js\'s UNIMPLEMENTED text (grpc-js 1.14 itself never settles such a call)', async () => {
    const { lean } = await setup();
    const { error, response } = await call(lean, 'two-messages');
    expect(response).toBeUndefined();
    expect(error?.code).toBe(GrpcStatus.UNIMPLEMENTED);
    expect(error?.details).toBe('Too many responses received');
  });
});

describe('HTTP/2 transport: cancellation', () => {
  it('cancel() resets the stream with CANCEL and reports CANCELLED, as grpc-js does', async () => {
    const { server, lean, reference } = await setup();
    for (const channel of [lean, reference]) {
      server.closedStreams.length = 0;
      server.received.length = 0;
      let settled: { code: number; details: string } | undefined;
      const handle = channel.unary(KV.method.range, create(RangeRequestSchema, {}), { scenario: 'silent' }, (error) => {
        settled = error as { code: number; details: string };
      });
      // Cancelled once the server holds the request (it never answers).
      await waitFor(() => expect(server.received).toEqual(['silent']));
      expect(settled).toBeUndefined();
      handle.cancel();
      await waitFor(() => expect(settled).toBeDefined());
      expect(settled?.code).toBe(GrpcStatus.CANCELLED);
      expect(settled?.details).toBe('Cancelled on client');
      await waitFor(() => expect(server.closedStreams).toEqual([http2.constants.NGHTTP2_CANCEL]));
    }
  });

  it('a call cancelled while connecting never reaches the server and reports CANCELLED once', async () => {
    const { server, lean } = await setup();
    const results: unknown[] = [];
    const handle = lean.unary(KV.method.range, create(RangeRequestSchema, {}), { scenario: 'ok' }, (error) => results.push(error));
    handle.cancel();
    handle.cancel();
    await waitFor(() => expect(results).toHaveLength(1));
    expect((results[0] as { code: number }).code).toBe(GrpcStatus.CANCELLED);
    // The connection still works, and only this later call reached the server.
    expect((await call(lean, 'ok')).response?.count).toBe(7n);
    expect(results).toHaveLength(1);
    expect(server.received).toEqual(['ok']);
  });
});

describe('HTTP/2 transport: connection', () => {
  it('fails calls with UNAVAILABLE and reports itself unusable while the server is down, and reconnects when it is back', async () => {
    const server = await startServer();
    const port = Number(server.address.split(':')[1]);
    const lean = h2Channel(server.address);
    open.push(lean);
    expect((await call(lean, 'ok')).response?.count).toBe(7n);
    await server.stop();

    // The open connection dies with the server; the next call finds nothing listening.
    const down = await waitFor(async () => {
      const outcome = await call(lean, 'ok');
      expect(outcome.error?.code).toBe(GrpcStatus.UNAVAILABLE);
      expect(lean.usable()).toBe(false);
      return outcome;
    });
    expect(down.error?.details).toMatch(/^No connection established\. Last error: .*ECONNREFUSED/);

    const restarted = await startServer(port);
    open.push(restarted);
    await waitFor(() => expect(lean.usable()).toBe(true));
    expect((await call(lean, 'ok')).response?.count).toBe(7n);
  });

  it('a call open when the connection drops fails with UNAVAILABLE (retryable, fails over)', async () => {
    const server = await startServer();
    const lean = h2Channel(server.address);
    open.push(lean, server);
    await call(lean, 'ok');
    const pending = call(lean, 'silent');
    await waitFor(() => expect(server.received).toEqual(['ok', 'silent']));
    await server.stop();
    const { error } = await pending;
    expect(error?.code).toBe(GrpcStatus.UNAVAILABLE);
  });

  it('a connection that stops answering pings while a call is open is dropped: the call fails with UNAVAILABLE', async () => {
    const server = await startServer();
    // A proxy that can go silent without closing anything (a dead peer, not a refused one).
    const sockets: Socket[] = [];
    let frozen = false;
    const proxy = createTcpServer((client) => {
      const upstream = tcpConnect(Number(server.address.split(':')[1]), '127.0.0.1');
      sockets.push(client, upstream);
      client.on('error', () => {});
      upstream.on('error', () => {});
      client.on('data', (bytes) => { if (!frozen) upstream.write(bytes); });
      upstream.on('data', (bytes) => { if (!frozen) client.write(bytes); });
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    const lean = h2Channel(`127.0.0.1:${(proxy.address() as AddressInfo).port}`, undefined, { keepAliveIntervalMs: 50, keepAliveTimeoutMs: 100 });
    open.push(lean, server, { close: () => { for (const socket of sockets) socket.destroy(); proxy.close(); } });
    expect((await call(lean, 'ok')).response?.count).toBe(7n);
    const pending = call(lean, 'silent');
    await waitFor(() => expect(server.received).toEqual(['ok', 'silent']));
    frozen = true;
    const { error } = await pending;
    expect(error?.code).toBe(GrpcStatus.UNAVAILABLE);
    expect(error?.details).toBe('Connection dropped');
  });

  it('moves to a fresh session before one runs out of stream ids', async () => {
    const server = await startServer();
    const lean = h2Channel(server.address, 2);
    open.push(lean, server);
    for (let i = 0; i < 5; i += 1) expect((await call(lean, 'ok')).response?.count).toBe(7n);
    expect(server.sessionsAccepted()).toBe(3);
  });

  it('after close() calls fail with UNAVAILABLE and the channel is unusable', async () => {
    const { lean } = await setup();
    await call(lean, 'ok');
    lean.close();
    expect(lean.usable()).toBe(false);
    const { error } = await call(lean, 'ok');
    expect(error?.code).toBe(GrpcStatus.UNAVAILABLE);
    expect(error?.details).toBe('Channel has been shut down');
  });
});

describe('HTTP/2 transport: framing and status text', () => {
  it('enforces the receive limit on the length prefix, before buffering the body', () => {
    const reader = new MessageReader(10);
    const head = Buffer.from([0, 0, 0, 0, 11]);
    expect(() => reader.push(head)).toThrow('Received message larger than max (11 vs 10)');
    const fits = new MessageReader(10);
    expect(fits.push(Buffer.from([0, 0, 0, 0, 2, 7]))).toEqual([]);
    expect(fits.partial).toBe(true);
    expect(fits.push(Buffer.from([8]))).toEqual([Buffer.from([7, 8])]);
    expect(fits.partial).toBe(false);
  });

  it('rejects compressed frames (we only accept identity)', () => {
    expect(() => new MessageReader(10).push(Buffer.from([1, 0, 0, 0, 1, 0]))).toThrow(/compressed/);
  });

  it('percent-decodes grpc-message as UTF-8 and keeps malformed escapes', () => {
    expect(decodeGrpcMessage('plain: text')).toBe('plain: text');
    expect(decodeGrpcMessage('caf%C3%A9 100%25')).toBe('café 100%');
    expect(decodeGrpcMessage('50% off %zz')).toBe('50% off %zz');
  });
});
