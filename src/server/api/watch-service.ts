/**
 * The Watch service: each bidirectional call is a WatchStream. Requests are handled one at a
 * time in arrival order (the stream is read with backpressure: the next request is read only
 * after the previous one's response was accepted by the transport). The require-leader
 * guard runs in front (guards.ts). The periodic progress notification runs on the injected clock.
 */
import type { ServerDuplexStream } from '@grpc/grpc-js';
import type { Clock } from '../../base/clock.js';
import { requireInteger } from '../../base/validate.js';
import { Watch } from '../../gen/etcdserverpb/rpc_pb.js';
import type * as pb from '../../gen/etcdserverpb/rpc_pb.js';
import { toServiceError } from './grpc-status.js';
import type { StreamTracker, WritableCall } from './unary.js';
import type { ServerPort } from './ports.js';
import { serviceDefinition, type ServiceBinding } from './service-definition.js';
import type { CallIdentity } from '../auth/caller.js';
import { encodeWatchResponse, sharedWatchEncoder } from './watch-encoding.js';
import { WatchStream, type WatchTransport } from './watch-stream.js';

export interface WatchServiceOptions {
  readonly clock: Clock;
  /** Open streams, ended on shutdown. */
  readonly tracker: StreamTracker;
  /** How often watchers that asked for progress_notify get an empty response (etcd: 10 minutes). */
  readonly progressIntervalMs?: number;
}

export interface WatchServiceHandle {
  readonly binding: ServiceBinding;
  /** Stops the progress timer and ends every open stream's watchers. */
  close(): void;
}

/** etcd's default watch progress notify interval. */
export const DEFAULT_PROGRESS_INTERVAL_MS = 10 * 60 * 1000;

export function watchService(port: ServerPort, options: WatchServiceOptions): WatchServiceHandle {
  const intervalMs = requireInteger('progressIntervalMs', options.progressIntervalMs ?? DEFAULT_PROGRESS_INTERVAL_MS, 1);
  const streams = new Set<WatchStream>();
  let closed = false;
  let cancelTimer = (): void => {};
  const schedule = (): void => {
    cancelTimer = options.clock.setTimer(intervalMs, () => {
      if (closed) return;
      port.watchable.notifyProgress();
      schedule();
    });
  };
  schedule();

  // Responses are written pre-encoded (see watchDefinition), hence Uint8Array as the output type.
  const watch = (call: ServerDuplexStream<pb.WatchRequest, Uint8Array>, _callback?: unknown, caller?: CallIdentity): void => {
    if (!options.tracker.track(call)) return;
    let failed = false;
    const fail = (error: unknown): void => {
      if (failed) return;
      failed = true;
      stream.close();
      streams.delete(stream);
      call.emit('error', toServiceError(error));
    };
    const stream = new WatchStream(port, callTransport(call), fail, sharedWatchEncoder, caller);
    streams.add(stream);
    const finish = (): void => {
      stream.close();
      streams.delete(stream);
    };
    call.on('cancelled', finish);
    call.on('close', finish);
    void (async () => {
      try {
        for await (const request of call as AsyncIterable<pb.WatchRequest>) {
          if (failed) return;
          await stream.handle(request);
        }
        // The client half-closed: like etcd, keep the watchers running until the call ends.
      } catch (error) {
        if (!call.cancelled) fail(error);
      }
    })();
  };

  return {
    binding: { definition: watchDefinition(), implementation: { watch } },
    close() {
      closed = true;
      cancelTimer();
      for (const stream of streams) stream.close();
      streams.clear();
    },
  };
}

/**
 * A WatchTransport over a grpc-js call: `write` hands one encoded message to the call and
 * reports whether it is full; `onceWritable` waits for 'drain' (or 'close', so no waiter is
 * left behind) with one listener pair per full episode, not one per watcher. Writing after
 * the call ended is dropped: the call's 'close' ends the stream's watchers.
 */
export function callTransport(call: WritableCall<Uint8Array>): WatchTransport {
  return {
    write(bytes) {
      if (call.destroyed || call.writableEnded) return false;
      return call.write(bytes);
    },
    onceWritable(cb) {
      if (call.destroyed || call.writableEnded) return;
      const onDrain = (): void => {
        call.off('close', onClose);
        cb();
      };
      const onClose = (): void => {
        call.off('drain', onDrain);
        cb();
      };
      call.once('drain', onDrain);
      call.once('close', onClose);
    },
  };
}

/**
 * The Watch service definition. WatchStream writes responses already encoded (watch-encoding.ts),
 * so they pass through as they are; a message object is still serialized, the same way.
 */
function watchDefinition(): ServiceBinding['definition'] {
  const definition = serviceDefinition(Watch);
  const method = definition['watch']!;
  return {
    ...definition,
    watch: {
      ...method,
      responseSerialize: (value: unknown) => {
        const bytes = value instanceof Uint8Array ? value : encodeWatchResponse(value as pb.WatchResponse);
        return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      },
    },
  };
}
