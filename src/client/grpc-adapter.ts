/**
 * The bridge between protobuf-es descriptors (src/gen/) and @grpc/grpc-js: a method's path and
 * its binary (de)serializers, built from the generated `GenService` descriptors so that no
 * hand-written per-method table can drift from the .proto files.
 */
import { fromBinary, toBinary } from '@bufbuild/protobuf';
import type { DescMessage, DescMethod, MessageShape } from '@bufbuild/protobuf';

/** `/<package>.<Service>/<Method>`, as gRPC addresses a method. */
export function methodPath(method: Pick<DescMethod, 'parent' | 'name'>): string {
  return `/${method.parent.typeName}/${method.name}`;
}

export interface MethodCodec<I extends DescMessage, O extends DescMessage> {
  readonly path: string;
  readonly serialize: (value: MessageShape<I>) => Buffer;
  readonly deserialize: (bytes: Buffer) => MessageShape<O>;
}

const codecs = new WeakMap<object, MethodCodec<DescMessage, DescMessage>>();

/** The path and codec of `method`, memoized per descriptor. */
export function codecFor<I extends DescMessage, O extends DescMessage>(
  method: { readonly input: I; readonly output: O } & Pick<DescMethod, 'parent' | 'name'>,
): MethodCodec<I, O> {
  let codec = codecs.get(method);
  if (codec === undefined) {
    const input = method.input;
    const output = method.output;
    codec = {
      path: methodPath(method),
      serialize: (value) => {
        const bytes = toBinary(input, value as MessageShape<I>);
        return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      },
      deserialize: (bytes) => fromBinary(output, bytes),
    };
    codecs.set(method, codec);
  }
  return codec as unknown as MethodCodec<I, O>;
}
