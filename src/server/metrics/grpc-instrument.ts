import type { GrpcType, MetricsSink } from './sink.js';

type Handler = (...args: never[]) => unknown;

interface StreamCall {
  once(event: string, listener: (...args: unknown[]) => void): unknown;
}

/**
 * Wraps one registered gRPC handler so it counts grpc_server_started_total and
 * grpc_server_handled_total (with the status code) as etcd's go-grpc-prometheus does.
 * `path` is the method's full path, `/etcdserverpb.KV/Range`.
 */
export function instrumentHandler(metrics: MetricsSink, path: string, requestStream: boolean, responseStream: boolean, handler: Handler): Handler {
  const [, service = '', method = ''] = /^\/([^/]+)\/(.+)$/.exec(path) ?? [];
  const type: GrpcType = requestStream ? (responseStream ? 'bidi_stream' : 'client_stream') : (responseStream ? 'server_stream' : 'unary');
  const counters = metrics.grpcMethod(service, method, type);
  if (!responseStream) {
    // Unary and client-streaming calls end through their callback.
    return ((call: unknown, callback: (error: { code?: number } | null, ...rest: unknown[]) => void) => {
      counters.started();
      return (handler as unknown as (c: unknown, cb: typeof callback) => unknown)(call, (error, ...rest) => {
        counters.handled(error === null || error === undefined ? 0 : typeof error.code === 'number' ? error.code : 2);
        callback(error, ...rest);
      });
    }) as unknown as Handler;
  }
  // Streaming responses end with 'finish' (OK), an emitted status error, or a cancellation.
  return ((call: StreamCall) => {
    counters.started();
    let code = 0;
    let counted = false;
    const count = (): void => {
      if (counted) return;
      counted = true;
      counters.handled(code);
    };
    call.once('error', (error) => {
      const c = (error as { code?: unknown } | undefined)?.code;
      code = typeof c === 'number' ? c : 2;
    });
    call.once('cancelled', () => {
      code = 1;
      count();
    });
    call.once('finish', count);
    call.once('close', count);
    return (handler as unknown as (c: StreamCall) => unknown)(call);
  }) as unknown as Handler;
}
