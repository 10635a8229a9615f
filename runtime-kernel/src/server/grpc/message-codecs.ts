import { create, fromBinary, isMessage, toBinary, type DescMessage, type Message, type MessageInitShape } from "@bufbuild/protobuf";

/**
 * Binary encoding of one message type, as the gRPC fast path uses it: decode
 * yields exactly what protobuf-es's fromBinary yields; encode accepts a message
 * or its init shape (what handlers answer) and yields toBinary's bytes.
 */
export interface MessageCodec {
  decode(bytes: Uint8Array): Message;
  encode(message: object): Uint8Array;
  /** encode's bytes as one uncompressed gRPC frame (flag, length, bytes) in one buffer, where the codec can write them so. */
  encodeFramed?(message: object): Uint8Array;
}

/** Codecs by message type name, e.g. specialized ones emitted by `make gen`. */
export type CodecTable = Readonly<Record<string, MessageCodec>>;

/** protobuf-es's reflection codec, for any schema. */
export function reflectionCodec(schema: DescMessage): MessageCodec {
  return {
    decode: (bytes) => fromBinary(schema, bytes),
    encode: (message) =>
      toBinary(schema, isMessage(message, schema) ? message : create(schema, message as MessageInitShape<DescMessage>)),
  };
}

/** The codec of a schema: a specialized one when the table has it, else reflection. */
export function codecFor(schema: DescMessage, table: CodecTable = {}): MessageCodec {
  return table[schema.typeName] ?? reflectionCodec(schema);
}
