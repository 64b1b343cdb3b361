/**
 * The gRPC health service (grpc.health.v1.Health), as etcd registers it: the server as a
 * whole ("") is SERVING while the gRPC server runs. Check of another name is NotFound
 * "unknown service" (the protocol's rule); Watch sends the status once and stays open, since
 * the status does not change while this server exists (shutdown ends it).
 */
import { create } from '@bufbuild/protobuf';
import { status } from '@grpc/grpc-js';
import type { ServerWritableStream } from '@grpc/grpc-js';
import { ConclaveError } from '../../base/errors.js';
import { Health, HealthCheckResponse_ServingStatus, HealthCheckResponseSchema } from '../../gen/grpc/health/v1/health_pb.js';
import type { HealthCheckRequest, HealthCheckResponse } from '../../gen/grpc/health/v1/health_pb.js';
import { bindService, type ServiceBinding } from './service-definition.js';
import { type StreamTracker, unary } from './unary.js';

class UnknownServiceError extends ConclaveError {
  readonly grpcCode = status.NOT_FOUND;
  readonly grpcMessage = 'unknown service';
  constructor() {
    super('ERR_HEALTH_UNKNOWN_SERVICE', 'unknown service');
  }
}

export function healthService(tracker: StreamTracker): ServiceBinding {
  const known = (name: string): boolean => name === '';
  return bindService(Health, {
    check: unary<HealthCheckRequest, HealthCheckResponse>((req) => {
      if (!known(req.service)) return Promise.reject(new UnknownServiceError());
      return Promise.resolve(create(HealthCheckResponseSchema, { status: HealthCheckResponse_ServingStatus.SERVING }));
    }),
    watch: (call: ServerWritableStream<HealthCheckRequest, HealthCheckResponse>) => {
      if (!tracker.track(call)) return;
      const servingStatus = known(call.request.service) ? HealthCheckResponse_ServingStatus.SERVING : HealthCheckResponse_ServingStatus.SERVICE_UNKNOWN;
      call.write(create(HealthCheckResponseSchema, { status: servingStatus }));
      // Left open until the client ends it (or the server shuts down).
    },
  });
}
