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
import { encodeWatchResponse } from './watch-encoding.js';
import { WatchStream } from './watch-stream.js';

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

  const watch = (call: ServerDuplexStream<pb.WatchRequest, pb.WatchResponse>): void => {
    if (!options.tracker.track(call)) return;
    let failed = false;
    const fail = (error: unknown): void => {
      if (failed) return;
      failed = true;
      stream.close();
      streams.delete(stream);
      call.emit('error', toServiceError(error));
    };
    const write = sharedDrainWriter(call);
    const send = (response: pb.WatchResponse): Promise<void> =>
      failed || call.cancelled ? Promise.reject(new Error('watch stream ended')) : write(response);
    const stream = new WatchStream(port, send, fail);
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
 * Writes on one call in order; while the transport is full every writer awaits one shared
 * wait for 'drain' (or 'close'), so a stream with hundreds of watchers adds one listener
 * pair, not one per watcher (which also made Node print a MaxListenersExceededWarning, with a
 * stack and a stderr write, over and over under watch fan-out).
 */
export function sharedDrainWriter<O>(call: WritableCall<O>): (message: O) => Promise<void> {
  let waiting: Promise<void> | undefined;
  return (message) => {
    if (call.destroyed || call.writableEnded) return Promise.reject(new Error('stream closed'));
    const accepted = call.write(message);
    if (accepted && waiting === undefined) return Promise.resolve();
    waiting ??= new Promise<void>((resolve, reject) => {
      const onDrain = (): void => {
        call.off('close', onClose);
        waiting = undefined;
        resolve();
      };
      const onClose = (): void => {
        call.off('drain', onDrain);
        waiting = undefined;
        reject(new Error('stream closed'));
      };
      call.once('drain', onDrain);
      call.once('close', onClose);
    });
    return waiting;
  };
}

/** The Watch service definition, its responses serialized with each event's bytes encoded once (watch-encoding.ts). */
function watchDefinition(): ServiceBinding['definition'] {
  const definition = serviceDefinition(Watch);
  const method = definition['watch']!;
  return {
    ...definition,
    watch: {
      ...method,
      responseSerialize: (value: unknown) => {
        const bytes = encodeWatchResponse(value as pb.WatchResponse);
        return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      },
    },
  };
}
