import type { RuntimeHandlerGroups } from "@ottavo/generated/server/runtime-handlers";
import { create } from "@bufbuild/protobuf";
import { createHandlerContext } from "@connectrpc/connect";
import { HTTPExtension_Verb, InvokeServiceRequestSchema, Runtime as RuntimeService } from "@ottavo/generated/spec/proto/runtime/v1/runtime_pb";
import { formatListenAddress } from "../config/listen-address";
import type { RuntimeConfig } from "../config/runtime-config";
import type { InvocationTargets } from "../invoke/invocation-targets";
import { withErrorMapping } from "../errors/mapped-handlers";
import { ComponentTable } from "../registry/component-table";
import type { Pipeline } from "../server/pipeline";
import { createRuntimeSyncHandlerGroups } from "../handlers/index";
import { FunctionHost, type AtOnceHandlers, type FunctionAnswer, type FunctionCall } from "./function-host";
import { FunctionSubscriptions } from "./function-subscriptions";
import type { Resiliency } from "../resiliency/resiliency";
import { HttpTrigger } from "./http-trigger";

export interface RunningFunctions {
  readonly host: FunctionHost;
  /** The HTTP trigger, when the config has a wasm section. */
  readonly trigger?: HttpTrigger;
  close(): Promise<void>;
}

/**
 * Starts the functions of a config: the host (whose guests call the same handler
 * groups the API serves, or groups over only the components a function is granted),
 * each configured function, and the HTTP trigger. A function that cannot start
 * stops the runtime's start, as a bad component does.
 */
export async function startFunctions(options: {
  readonly config: RuntimeConfig;
  readonly table: ComponentTable;
  /** Handler groups over a table (all components, or a function's granted ones), wired as the API's are. */
  readonly handlersOver: (table: ComponentTable) => RuntimeHandlerGroups;
  /** InvokeService's registry: each function is registered under its id. */
  readonly targets: InvocationTargets;
  readonly log: (line: string) => void;
  /** Warnings (delivery trouble); log when absent. */
  readonly warn?: (line: string) => void;
  /** The steps the functions' host calls pass (the API's, without its token step). */
  readonly pipeline?: Pipeline;
  /** The inbound policies the functions' pub/sub deliveries run under. */
  readonly resiliency?: Resiliency;
}): Promise<RunningFunctions> {
  const { config, table } = options;
  // The host calls handlers directly: their errors are mapped as the API's servers map them.
  const handlersOver = (over: ComponentTable) => withErrorMapping(options.handlersOver(over));
  const groups = handlersOver(table);
  // Deliveries are counted by the table's pubsub proxy (observability/component-metrics.ts), as the app's are.
  const subscriptions = new FunctionSubscriptions({
    table,
    log: { info: options.log, warn: options.warn ?? options.log },
    resiliency: options.resiliency,
  });
  const host = new FunctionHost({
    subscriptions,
    pipeline: options.pipeline,
    configDir: config.configDir,
    log: options.log,
    handlersFor: (components) => (components === undefined ? groups : handlersOver(grantedTable(table, components))),
    atOnceFor: (components) => atOnceOver(components === undefined ? table : grantedTable(table, components)),
    invokeOther: (id, call) => invokeThroughKernel(groups, id, call),
    registerTarget: (id, target) => options.targets.register(id, target),
  });
  let trigger: HttpTrigger | undefined;
  try {
    for (const spec of config.wasm?.functions ?? []) await host.install(spec);
    if (config.wasm) {
      trigger = await HttpTrigger.start(config.wasm.address, host);
      const count = config.wasm.functions.length;
      options.log(`ottavo: serving functions on ${formatListenAddress(trigger.address)} (${count} function${count === 1 ? "" : "s"})`);
    }
  } catch (error) {
    await host.close();
    throw error;
  }
  return {
    host,
    trigger,
    async close() {
      await trigger?.close();
      await host.close();
    },
  };
}

/**
 * The synchronous handlers over a table, for inline functions, with the same error
 * mapping; a capability answers at once when each of its components has a sync form
 * (the in-memory ones; none under resiliency policies).
 */
function atOnceOver(over: ComponentTable): AtOnceHandlers {
  return {
    groups: withErrorMapping(createRuntimeSyncHandlerGroups(over)),
    answersAtOnce: (capability) =>
      over.all().every((entry) => entry.capability !== capability || (entry.component as { sync?: unknown }).sync !== undefined),
  };
}

/** A view of the table with only the named components: the others read as unknown to the function. */
export function grantedTable(table: ComponentTable, names: readonly string[]): ComponentTable {
  const granted = new ComponentTable(table.appId);
  for (const entry of table.all()) if (names.includes(entry.name)) granted.add(entry);
  return granted;
}

/** InvokeService for an id that is not a function: the kernel's own handler, as a gRPC caller would reach it. */
async function invokeThroughKernel(groups: RuntimeHandlerGroups, id: string, call: FunctionCall): Promise<FunctionAnswer> {
  const verb = HTTPExtension_Verb[call.verb.toUpperCase() as keyof typeof HTTPExtension_Verb];
  const request = create(InvokeServiceRequestSchema, {
    id,
    message: {
      method: call.method,
      data: { value: call.data },
      contentType: call.contentType,
      httpExtension: { verb: typeof verb === "number" ? verb : HTTPExtension_Verb.POST, querystring: call.query },
    },
  });
  const method = RuntimeService.methods.find((m) => m.name === "InvokeService")!;
  const context = createHandlerContext({ service: RuntimeService, method, protocolName: "wasm", requestMethod: "POST", url: `wasm://${RuntimeService.typeName}/InvokeService` });
  const answer = await groups.kernel.invokeService(request, context);
  return { status: 200, contentType: answer.contentType ?? "", data: answer.data?.value ?? new Uint8Array(0), headers: [] };
}
