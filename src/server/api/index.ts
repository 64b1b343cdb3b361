export { createGrpcServer } from './grpc-server.js';
export type { GrpcApiServer, GrpcServerOptions } from './grpc-server.js';
export * from './convert.js';
export type * from './ports.js';
export { toServiceError } from './grpc-status.js';
export { DEFAULT_MAX_REQUEST_BYTES, checkProposalSize, grpcMaxReceiveBytes } from './limits.js';
export { serviceDefinition, methodPath } from './service-definition.js';
