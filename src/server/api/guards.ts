/**
 * etcd's request guards, applied in front of every handler (what its gRPC interceptors do):
 * a call with the `hasleader: true` metadata fails with "etcdserver: no leader" while the
 * member knows no leader; on a learner, only Status and serializable Range are served (etcd
 * 3.4: every other unary call and every stream fails with "rpc not supported for learner").
 * Require-leader streams are then watched by the LeaderMonitor. The auth guard's resolved
 * caller is handed to the handler as a third argument. The health service is never guarded.
 */
import type { Metadata, ServiceDefinition, UntypedServiceImplementation } from '@grpc/grpc-js';
import { serverError } from '../errors.js';
import { toServiceError } from './grpc-status.js';
import type { ServerPort } from './ports.js';
import type { LeaderMonitor } from './leader-monitor.js';
import type { ServiceBinding } from './service-definition.js';
import type { TrackedCall } from './unary.js';
import type { CallIdentity } from '../auth/caller.js';
import { guardAuth, recipeCallback } from '../auth/call-guard.js';

/** A handler as grpc-js calls it (a callback for unary calls only). */
type Handler = (call: GuardedCall, callback?: (error: unknown) => void) => void;
/** A handler as the guard calls it: grpc-js's arguments, then the caller the auth guard resolved. */
type GuardedHandler = (call: GuardedCall, callback: ((error: unknown) => void) | undefined, caller: CallIdentity | undefined) => void;

interface GuardedCall {
  readonly metadata: Metadata;
  readonly request?: unknown;
  emit(event: 'error', error: unknown): boolean;
}

const LEARNER_UNARY = new Set(['/etcdserverpb.Maintenance/Status', '/etcdserverpb.KV/Range']);

/** The guard's verdict for one call: an error to answer with, or undefined to proceed. */
export function guardError(port: ServerPort, path: string, streaming: boolean, metadata: Metadata, request: unknown): Error | undefined {
  const role = port.role?.();
  if (metadata.get('hasleader')[0] === 'true') {
    const leader = role?.leader ?? port.status().leader;
    if (leader === 0n) return serverError('noLeader');
  }
  if (role?.isLearner) {
    const allowed = !streaming && LEARNER_UNARY.has(path) && (path !== '/etcdserverpb.KV/Range' || (request as { serializable?: boolean }).serializable === true);
    if (!allowed) return serverError('notSupportedForLearner');
  }
  return undefined;
}

/** Wraps every handler of `binding` with the guards; require-leader streams go to `monitor`. */
export function guarded(port: ServerPort, binding: ServiceBinding, monitor: LeaderMonitor): ServiceBinding {
  const definition: ServiceDefinition = binding.definition;
  const implementation: UntypedServiceImplementation = {};
  for (const [name, method] of Object.entries(definition)) {
    const handler = binding.implementation[name] as unknown as GuardedHandler | undefined;
    if (handler === undefined) continue;
    const streaming = method.requestStream || method.responseStream;
    const wrapped: Handler = (call, callback) => {
      // A client stream's request arrives later; the learner rule for streams does not need it.
      const error = guardError(port, method.path, streaming, call.metadata, method.requestStream ? undefined : call.request);
      const refuse = (e: unknown): void => {
        if (callback !== undefined) callback(toServiceError(e));
        else call.emit('error', toServiceError(e));
      };
      if (error === undefined) {
        const proceed = (caller: CallIdentity | undefined): void => {
          if (streaming && call.metadata.get('hasleader')[0] === 'true') monitor.add(call as unknown as TrackedCall);
          handler(call, port.auth === undefined ? callback : recipeCallback(method.path, callback), caller);
        };
        if (port.auth === undefined) proceed(undefined);
        else guardAuth(port.auth, method.path, call, method.requestStream ? undefined : call.request, port.store.maxTxnOps, proceed, refuse);
        return;
      }
      refuse(error);
    };
    implementation[name] = wrapped as unknown as UntypedServiceImplementation[string];
  }
  return { definition, implementation };
}
