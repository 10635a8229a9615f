/** Shared IDL sources and helpers for the IDL tests. */
import { checkIdl, parseIdl, type IdlModel } from "../../src/idl";
import { runtimeRegistry } from "./protos";

export const STATE_CAP = `// The state capability, as a vendor reads it.

/// A state store keeps key/value items.
/// Keys are strings; values are bytes.
capability state as StateStore {
  /// The runtime rpcs this capability serves.
  serves Runtime.GetState, spec.proto.runtime.v1.Runtime.SaveState

  /// Reads one item.
  operation get(request: GetRequest) returns GetResponse
  operation set(request: SetRequest)
  operation bulkGet(request: BulkGetRequest) returns list<GetResponse>
  operation bulkSet(requests: list<SetRequest>)
  operation transact(ops: list<SetRequest>, options: .spec.proto.runtime.v1.StateOptions)
  operation put(request: SetRequest, data: stream<bytes>)
  operation read(request: GetRequest) returns stream<bytes>
  operation subscribe(request: GetRequest, handler: MessageHandler) returns subscription

  /// Items carry a version.
  feature ETAG
  feature BULK unlocks bulkGet, bulkSet
  feature TRANSACTIONAL unlocks transact

  /// The etag given does not match the stored one.
  error EtagMismatch = ABORTED

  message GetRequest {
    /// The key.
    key: string
    etag?: string                      // optional
    metadata: map<string, string>
    options: spec.proto.runtime.v1.StateOptions
    consistency: Consistency
    protoConsistency: spec.proto.runtime.v1.StateConsistency
  }
  message GetResponse {
    data: bytes
    etag?: string
    sizes: map<int64, list<uint32>>
  }
  message SetRequest {
    key: string
    value: bytes
    expiresAt?: timestamp
    /// Messages may refer to themselves.
    children: list<SetRequest>
  }
  message BulkGetRequest { keys: list<string> parallelism: int32 }
  message TopicMessage { data: bytes }
  enum Consistency {
    /// Reads may be stale.
    EVENTUAL
    STRONG
  }
  enum DeliveryStatus { SUCCESS RETRY DROP }
  /// Called for each delivered message.
  callback MessageHandler(message: TopicMessage) returns DeliveryStatus
}

/// Keeps everything in process memory.
adapter "in-memory" implements state {
  features ETAG, BULK, TRANSACTIONAL
  metadata {
    /// Seconds an item lives; -1 keeps it forever.
    ttlInSeconds: int = -1
  }
}

adapter "redis" implements state {
  features ETAG
  metadata {
    include RedisConnection
    ttlInSeconds: int
  }
}
`;

export const REDIS_CAP = `/// Shared connection settings.
metadata RedisConnection {
  /// The server as host:port.
  redisHost: string = "localhost:6379" alias "host"
  redisPassword: string sensitive alias "password"
  redisDB: int = 0
  enableTLS: bool = false
  dialTimeout: duration = "5s"
  include RedisPool
  appId: string required
}

metadata RedisPool {
  poolSize: int = 10
  idleRatio: number = 0.5
}
`;

/** Parses and checks the given files against the test protos. */
export function check(files: Record<string, string>, protos = runtimeRegistry()): { model: IdlModel; errors: string[] } {
  const asts = Object.entries(files).map(([file, text]) => parseIdl(file, text));
  const { model, errors } = checkIdl(asts, protos);
  return { model, errors: errors.map((e) => e.message) };
}

/** The checker errors for one capability body (wrapped in `capability state as StateStore { ... }`, body starting on line 2). */
export function capabilityErrors(body: string): string[] {
  return check({ "spec/components/state.cap": `capability state as StateStore {\n${body}\n}\n` }).errors;
}

/** The parse error thrown for a file, as its message. */
export function parseError(text: string, file = "spec/components/state.cap"): string {
  try {
    parseIdl(file, text);
  } catch (e) {
    return (e as Error).message;
  }
  throw new Error("expected a parse error");
}
