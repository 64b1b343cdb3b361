/**
 * grpc-js service definitions built from the protobuf-es `GenService` descriptors in src/gen/,
 * so the method paths, streaming kinds and binary codecs come from the .proto files and no
 * hand-written table can drift from them. (The client has its own equivalent; server and
 * client may not import each other.)
 */
import { fromBinary, toBinary } from '@bufbuild/protobuf';
import type { DescMessage, DescMethod, DescService, MessageShape } from '@bufbuild/protobuf';
import type { MethodDefinition, ServiceDefinition, UntypedServiceImplementation } from '@grpc/grpc-js';

/** `/<package>.<Service>/<Method>`, as gRPC addresses a method. */
export function methodPath(method: Pick<DescMethod, 'parent' | 'name'>): string {
  return `/${method.parent.typeName}/${method.name}`;
}

function serializer<T extends DescMessage>(schema: T): (value: MessageShape<T>) => Buffer {
  return (value) => {
    const bytes = toBinary(schema, value);
    return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  };
}

function deserializer<T extends DescMessage>(schema: T): (bytes: Buffer) => MessageShape<T> {
  return (bytes) => fromBinary(schema, bytes);
}

const definitions = new WeakMap<DescService, ServiceDefinition>();

/**
 * The grpc-js definition of `service`, keyed by each method's local name (`range`,
 * `leaseKeepAlive`, ...), which is also the key the implementation object uses.
 */
export function serviceDefinition(service: DescService): ServiceDefinition {
  let definition = definitions.get(service);
  if (definition !== undefined) return definition;
  const built: Record<string, MethodDefinition<unknown, unknown>> = {};
  for (const method of service.methods) {
    built[method.localName] = {
      path: methodPath(method),
      requestStream: method.methodKind === 'client_streaming' || method.methodKind === 'bidi_streaming',
      responseStream: method.methodKind === 'server_streaming' || method.methodKind === 'bidi_streaming',
      requestSerialize: serializer(method.input) as (value: unknown) => Buffer,
      requestDeserialize: deserializer(method.input),
      responseSerialize: serializer(method.output) as (value: unknown) => Buffer,
      responseDeserialize: deserializer(method.output),
      originalName: method.localName,
    };
  }
  definition = built as ServiceDefinition;
  definitions.set(service, definition);
  return definition;
}

/** A service ready to register: its definition and the handlers keyed like the definition. */
export interface ServiceBinding {
  readonly definition: ServiceDefinition;
  readonly implementation: UntypedServiceImplementation;
}

/** Pairs handlers with the definition of `service` (the handler names are the method local names). */
export function bindService(service: DescService, handlers: object): ServiceBinding {
  return { definition: serviceDefinition(service), implementation: handlers as UntypedServiceImplementation };
}
