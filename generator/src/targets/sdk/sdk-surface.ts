/**
 * How the SDKs present each rpc: the method's name in its capability, which
 * request fields are positional arguments, and what the call returns. Only the
 * choices a person makes about ergonomics live here; every type and every doc
 * string comes from spec/. An rpc missing from this table still gets a method,
 * named after the rpc, with every request field as an option.
 *
 * Paths are proto field names joined by dots, from the request message
 * (`request.store_name` reaches into ListFileRequest.request).
 */
export interface RpcSurface {
  /** The method name, lowerCamel (each language re-cases it). */
  readonly name: string;
  /** Positional arguments, in order. */
  readonly args?: readonly (string | ItemsArg)[];
  /** A path into the response to return instead of the whole message. */
  readonly returns?: string;
  /** A shape that needs a stream helper of the language's support code. */
  readonly shape?: SpecialShape;
  /**
   * shape "watch": the repeated response field whose emptiness marks the
   * runtime's confirmation of the subscription, which the SDK asks for with the
   * request header confirmSubscriptionHeader. The SDK waits for it (ready) and
   * does not hand it to the caller.
   */
  readonly confirmedBy?: string;
}

/** The request header asking the runtime to confirm a watch (runtime-kernel's configuration handlers read it). */
export const confirmSubscriptionHeader = "ottavo-confirm-subscription";

/**
 * A repeated message field taken as a map from key to value (`{key: value}`),
 * or, without `value`, as a list of keys. The item's other fields become options
 * applied to every item (`etag`, `concurrency`).
 */
export interface ItemsArg {
  readonly items: string;
  readonly key: string;
  readonly value?: string;
  /** Item fields that mean nothing here (a delete's value). */
  readonly omit?: readonly string[];
}

/**
 * - download: a server stream of chunks, read as one byte stream.
 * - upload: a client stream whose first message carries the names and every message a chunk.
 * - watch: a bidi stream that sends one request and yields every response;
 *   with confirmedBy, once the runtime confirmed the subscription.
 * - topic: SubscribeTopicEvents: an initial request, then messages each settled by id.
 * - lease: a lock's try, answered with a lease that unlocks (with `unlockRpc`).
 */
export type SpecialShape = "download" | "upload" | "watch" | "topic" | "lease";

export const leaseUnlockRpc = "Unlock";

export const rpcSurfaces: Readonly<Record<string, RpcSurface>> = {
  SayHello: { name: "sayHello", args: ["service_name", "name"], returns: "hello" },
  InvokeService: { name: "invoke", args: ["id", "message.method", "message.data.value"] },

  GetConfiguration: { name: "get", args: ["store_name", "keys"], returns: "items" },
  SaveConfiguration: { name: "save", args: ["store_name", "items"] },
  DeleteConfiguration: { name: "delete", args: ["store_name", "keys"] },
  SubscribeConfiguration: { name: "subscribe", args: ["store_name", "keys"], shape: "watch", confirmedBy: "items" },

  TryLock: { name: "tryLock", args: ["store_name", "resource_id", "lock_owner", "expire"], shape: "lease" },
  Unlock: { name: "unlock", args: ["store_name", "resource_id", "lock_owner"], returns: "status" },
  LockKeepAlive: { name: "keepAlive", args: ["store_name", "resource_id", "lock_owner", "expire"], returns: "status" },

  GetNextId: { name: "nextId", args: ["store_name", "key"], returns: "next_id" },

  GetState: { name: "get", args: ["store_name", "key"] },
  GetBulkState: { name: "getBulk", args: ["store_name", "keys"], returns: "items" },
  SaveState: { name: "save", args: ["store_name", { items: "states", key: "key", value: "value" }] },
  DeleteState: { name: "delete", args: ["store_name", "key"] },
  DeleteBulkState: { name: "deleteBulk", args: ["store_name", { items: "states", key: "key", omit: ["value"] }] },
  ExecuteStateTransaction: { name: "transact", args: ["storeName", "operations"] },

  PublishEvent: { name: "publish", args: ["pubsub_name", "topic", "data"] },
  SubscribeTopicEvents: { name: "subscribe", args: ["initial_request.pubsub_name", "initial_request.topic"], shape: "topic" },

  GetFile: { name: "get", args: ["store_name", "name"], shape: "download" },
  PutFile: { name: "put", args: ["store_name", "name", "data"], shape: "upload" },
  ListFile: { name: "list", args: ["request.store_name", "request.name"] },
  DelFile: { name: "delete", args: ["request.store_name", "request.name"] },
  GetFileMeta: { name: "stat", args: ["request.store_name", "request.name"] },

  InvokeBinding: { name: "invoke", args: ["name", "operation", "data"] },

  GetSecret: { name: "get", args: ["store_name", "key"], returns: "data" },
  GetBulkSecret: { name: "getBulk", args: ["store_name"], returns: "data" },
};
