import { createContextKey, type ContextValues } from "@connectrpc/connect";

/**
 * What a call's component operation is about, as Layotto's words for its failure
 * name it. A handler records it just before it hands the call to the component
 * (handlers/call-context.ts, atComponent); the error mapping reads it back when
 * the call fails. Handlers therefore hold no error handling of their own.
 */
export interface FailureSubject {
  /** The rpc's name as in the proto ("GetState"): the row of failureTexts. */
  readonly rpc: string;
  /** The component's name as configured. */
  readonly store: string;
  /** The caller's key, secret, file or topic the words name, where they name one. */
  readonly item?: string;
}

type Describe = (subject: FailureSubject, detail: string) => string;

/**
 * Layotto's words for a component's failure, per rpc (pkg/grpc/default_api and
 * pkg/grpc/dapr in Layotto, Dapr's where Layotto answers a bare Go error). `detail`
 * is the component's own text; the words name the operation and the component and
 * never echo request metadata. The status is the component error's (errors/error-mapping.ts).
 */
export const failureTexts = {
  SayHello: ({ store }, detail) => `say hello failed in hello service ${store}: ${detail}`,

  GetState: ({ store, item }, detail) => `fail to get ${item} from state store ${store}: ${detail}`,
  GetBulkState: ({ store }, detail) => `fail to bulk get from state store ${store}: ${detail}`,
  SaveState: ({ store }, detail) => `failed saving state in state store ${store}: ${detail}`,
  DeleteState: ({ item }, detail) => `failed deleting state with key ${item}: ${detail}`,
  // A store with BULK fails as a whole; one without it fails on a key, worded as DeleteState.
  DeleteBulkState: ({ store, item }, detail) =>
    item === undefined ? `failed deleting state in state store ${store}: ${detail}` : `failed deleting state with key ${item}: ${detail}`,
  ExecuteStateTransaction: (_subject, detail) => `error while executing state transaction: ${detail}`,

  TryLock: ({ store }, detail) => `failed to try acquiring lock in lock store ${store}: ${detail}`,
  Unlock: ({ store }, detail) => `failed to release lock in lock store ${store}: ${detail}`,
  LockKeepAlive: ({ store }, detail) => `failed to keep lock alive in lock store ${store}: ${detail}`,

  GetNextId: ({ store, item }, detail) => `failed to get next id of key ${item} from sequencer store ${store}: ${detail}`,

  GetConfiguration: ({ store }, detail) => `get configuration from store ${store} failed with error: ${detail}`,
  SaveConfiguration: ({ store }, detail) => `save configuration into store ${store} failed with error: ${detail}`,
  DeleteConfiguration: ({ store }, detail) => `delete configuration from store ${store} failed with error: ${detail}`,
  SubscribeConfiguration: ({ store }, detail) => `subscribe configuration of store ${store} failed with error: ${detail}`,

  PublishEvent: ({ store, item }, detail) => `error when publish to topic ${item} in pubsub ${store}: ${detail}`,
  SubscribeTopicEvents: ({ store, item }, detail) => `failed to subscribe to topic ${item} in pubsub ${store}: ${detail}`,

  GetFile: ({ store, item }, detail) => `get file ${item} from file store ${store} fail, err: ${detail}`,
  PutFile: ({ store, item }, detail) => `put file ${item} into file store ${store} fail, err: ${detail}`,
  ListFile: ({ store, item }, detail) => `list file ${item} in file store ${store} fail, err: ${detail}`,
  DelFile: ({ store, item }, detail) => `delete file ${item} in file store ${store} fail, err: ${detail}`,
  GetFileMeta: ({ store, item }, detail) => `get meta of file ${item} in file store ${store} fail, err: ${detail}`,

  InvokeBinding: ({ store }, detail) => `error when invoke output binding ${store}: ${detail}`,

  GetSecret: ({ store, item }, detail) => `error when get secret : secret name => ${item},store name =>${store},error => ${detail}`,
  GetBulkSecret: ({ store }, detail) => `error when bulk get secret ${store}: ${detail}`,
} as const satisfies Record<string, Describe>;

/** An rpc that hands calls to a component, and so has words for its failure. */
export type ComponentRpc = keyof typeof failureTexts;

/** Where a call's handler records its FailureSubject: the call's context values, shared by every path. */
export const failureSubjectKey = createContextKey<FailureSubject | undefined>(undefined, { description: "ottavo: failure subject" });

/** Layotto's words for a failure of the call these values belong to, or undefined when no component was called. */
export function describeFailure(values: ContextValues | undefined, detail: string): string | undefined {
  const subject = values?.get(failureSubjectKey);
  if (subject === undefined) return undefined;
  const describe: Describe | undefined = (failureTexts as Record<string, Describe>)[subject.rpc];
  return describe?.(subject, detail);
}
