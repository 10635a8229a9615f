import type { RuntimeHandlerGroups } from "@ottavo/generated/server/runtime-handlers";
import { createInvoker } from "../invoke/invocation-setup";
import type { Invoker } from "../invoke/invoker";
import type { ComponentTable } from "../registry/component-table";
import { defaultQueueLimit } from "./async-queue";
import { createBindingHandlers } from "./binding-handlers";
import type { RuntimeSyncHandlerGroups } from "./at-once";
import { createConfigurationHandlers, createConfigurationSyncHandlers } from "./configuration-handlers";
import { createFileHandlers } from "./file-handlers";
import { createHelloHandlers } from "./hello-handlers";
import { createKernelHandlers } from "./kernel-handlers";
import { createLockHandlers, createLockSyncHandlers } from "./lock-handlers";
import { createPubsubHandlers } from "./pubsub-handlers";
import { createSecretHandlers } from "./secret-handlers";
import { createSequencerHandlers, createSequencerSyncHandlers } from "./sequencer-handlers";
import { createStateHandlers, createStateSyncHandlers } from "./state-handlers";

/**
 * The Runtime API handlers over the components of one table. Each group validates a
 * request, routes it to the component it names and maps the component's errors to
 * the API's codes, as Layotto does. Stateful parts (sequencer id blocks, open
 * subscription streams) live in the groups, so create them once per runtime.
 * InvokeService calls through the invoker (none configured: every id is NOT_FOUND).
 */
export function createRuntimeHandlerGroups(
  table: ComponentTable,
  invoker: Invoker = createInvoker({ targets: [] }),
  runtimeToken?: string,
  /** Responses a streaming call may queue for a client that does not read them (limits.maxQueuedStreamResponses). */
  maxQueuedStreamResponses: number = defaultQueueLimit,
): RuntimeHandlerGroups {
  return {
    hello: createHelloHandlers(table),
    state: createStateHandlers(table),
    lock: createLockHandlers(table),
    sequencer: createSequencerHandlers(table),
    configuration: createConfigurationHandlers(table, maxQueuedStreamResponses),
    pubsub: createPubsubHandlers(table, maxQueuedStreamResponses),
    file: createFileHandlers(table),
    binding: createBindingHandlers(table),
    secret: createSecretHandlers(table),
    kernel: createKernelHandlers(invoker, runtimeToken),
  };
}

/**
 * The rpcs that have a synchronous form, over the same table: state, lock, sequencer
 * and configuration, the capabilities whose components may answer at once (their
 * `sync` form). Each runs the same body as the async group's rpc; a component without
 * a sync form answers FAILED_PRECONDITION. For callers that cannot wait (a function
 * instance on the main thread).
 */
export function createRuntimeSyncHandlerGroups(table: ComponentTable): RuntimeSyncHandlerGroups {
  return {
    state: createStateSyncHandlers(table),
    lock: createLockSyncHandlers(table),
    sequencer: createSequencerSyncHandlers(table),
    configuration: createConfigurationSyncHandlers(table),
  };
}

export { defaultStateKeyPrefix } from "./state-handlers";
