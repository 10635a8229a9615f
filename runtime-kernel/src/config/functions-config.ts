import { defaultFunctionPort, functionDefaults, functionExecutions, type FunctionExecution, type FunctionSpec, type FunctionSubscription } from "./function-spec";
import type { ConfigReport } from "./config-error";
import { isPlainObject } from "./component-entry";
import { parseListenAddress, type ListenAddress } from "./listen-address";

/** WebAssembly functions: the HTTP trigger's address and the functions installed at start. */
export interface WasmConfig {
  readonly address: ListenAddress;
  readonly functions: readonly FunctionSpec[];
}

export const defaultFunctionAddress: ListenAddress = { kind: "tcp", host: "127.0.0.1", port: defaultFunctionPort };

const functionKeys = ["path", "instances", "maxMemoryPages", "cpuLimitMs", "bufferCapBytes", "components", "watch", "subscriptions", "execution"];
const subscriptionKeys = ["pubsub", "topic", "deadLetterTopic", "metadata"];

/**
 * Ottavo YAML:
 *
 *   wasm:
 *     address: 127.0.0.1:2045           # the HTTP trigger (the default)
 *     functions:
 *       stock:
 *         path: functions/stock.wasm     # relative to the config file
 *         instances: 2                   # one call in flight per instance
 *         maxMemoryPages: 256            # 64 KiB pages
 *         cpuLimitMs: 500                # per invocation, time in the guest
 *         bufferCapBytes: 1048576        # largest message across the boundary
 *         components: [state_demo]       # what it may call; all when absent
 *         watch: true                    # reload when the file changes
 *         execution: auto                # auto (the default), inline or asyncify (main thread), worker
 *         subscriptions:                 # topics whose events it gets (OnTopicEvent)
 *           - { pubsub: pub_subs_demo, topic: orders, deadLetterTopic: orders-dead, metadata: {} }
 */
export function readWasmSection(report: ConfigReport, value: unknown): WasmConfig | undefined {
  if (value === undefined || value === null) return undefined;
  if (!isPlainObject(value)) {
    report.problem("'wasm' must be a map with address and functions");
    return undefined;
  }
  const { address, functions, ...unknown } = value;
  for (const key of Object.keys(unknown)) report.problem(`unknown key 'wasm.${key}'; known: address, functions`);
  const listen = readAddress(report, "wasm.address", address);
  const specs: FunctionSpec[] = [];
  if (functions !== undefined && functions !== null) {
    if (!isPlainObject(functions)) report.problem("'wasm.functions' must be a map of function names to settings");
    else for (const [name, settings] of Object.entries(functions)) {
      const spec = readFunctionSpec(report, `wasm.functions.${name}`, name, settings);
      if (spec) specs.push(spec);
    }
  }
  return { address: listen, functions: specs };
}

/** One function's settings (Ottavo's shape); also what the actuator accepts. Problems go to report, prefixed with where. */
export function readFunctionSpec(report: Pick<ConfigReport, "problem">, where: string, name: string, value: unknown): FunctionSpec | undefined {
  if (!isPlainObject(value)) {
    report.problem(`'${where}' must be a map with path (and optionally ${functionKeys.slice(1).join(", ")})`);
    return undefined;
  }
  for (const key of Object.keys(value)) if (!functionKeys.includes(key)) report.problem(`unknown key '${where}.${key}'; known: ${functionKeys.join(", ")}`);
  const problems: string[] = [];
  const count = (key: string, fallback: number, min = 1): number => {
    const v = value[key];
    if (v === undefined || v === null) return fallback;
    if (!Number.isInteger(v) || (v as number) < min) {
      problems.push(`'${where}.${key}' must be an integer >= ${min}`);
      return fallback;
    }
    return v as number;
  };
  if (name === "") problems.push(`'${where}' needs a name`);
  if (typeof value.path !== "string" || value.path === "") problems.push(`'${where}.path' must name the function's .wasm file`);
  const spec: FunctionSpec = {
    name,
    path: typeof value.path === "string" ? value.path : "",
    instances: count("instances", functionDefaults.instances),
    maxMemoryPages: count("maxMemoryPages", functionDefaults.maxMemoryPages),
    cpuLimitMs: count("cpuLimitMs", functionDefaults.cpuLimitMs),
    bufferCapBytes: count("bufferCapBytes", functionDefaults.bufferCapBytes),
    components: readNames(problems, `${where}.components`, value.components),
    watch: value.watch === undefined ? functionDefaults.watch : value.watch === true,
    subscriptions: readSubscriptions(problems, `${where}.subscriptions`, value.subscriptions),
    execution: readExecution(problems, `${where}.execution`, value.execution),
  };
  if (value.watch !== undefined && typeof value.watch !== "boolean") problems.push(`'${where}.watch' must be true or false`);
  problems.forEach((p) => report.problem(p));
  return problems.length === 0 ? spec : undefined;
}

function readExecution(problems: string[], where: string, value: unknown): FunctionExecution {
  if (value === undefined || value === null) return functionDefaults.execution;
  if (typeof value === "string" && (functionExecutions as readonly string[]).includes(value)) return value as FunctionExecution;
  problems.push(`'${where}' must be one of ${functionExecutions.join(", ")}, not ${JSON.stringify(value)}`);
  return functionDefaults.execution;
}

/**
 * Layotto's shape, from its FaaS config and its /wasm/install body:
 * `{"name": "id_1", "instance_num": 1, "vm_config": {"engine": "wasmer", "path": "..."}}`.
 * The engine is Layotto's choice of VM and is ignored here.
 */
export function readLayottoFunction(report: Pick<ConfigReport, "problem">, where: string, value: unknown): FunctionSpec | undefined {
  if (!isPlainObject(value)) {
    report.problem(`${where} must be a map with name, instance_num and vm_config.path`);
    return undefined;
  }
  const vm = isPlainObject(value.vm_config) ? value.vm_config : {};
  const name = typeof value.name === "string" ? value.name : "";
  return readFunctionSpec(report, where, name, {
    path: vm.path,
    ...(value.instance_num !== undefined ? { instances: value.instance_num } : {}),
  });
}

/**
 * The listener whose stream filter has type "Layotto" serves functions: its address
 * is the HTTP trigger, its filter config maps keys to functions.
 */
export function readLayottoWasm(report: ConfigReport, listeners: readonly Record<string, unknown>[]): WasmConfig | undefined {
  for (const [index, listener] of listeners.entries()) {
    const filters = Array.isArray(listener.stream_filters) ? listener.stream_filters : [];
    const filter = filters.find((f): f is Record<string, unknown> => isPlainObject(f) && f.type === "Layotto");
    if (filter === undefined) continue;
    const where = `servers[0].listeners[${index}]`;
    const address = readAddress(report, `${where}.address`, listener.address);
    const config = isPlainObject(filter.config) ? filter.config : {};
    const functions: FunctionSpec[] = [];
    for (const [key, value] of Object.entries(config)) {
      const spec = readLayottoFunction(report, `${where}.stream_filters Layotto config.${key}`, value);
      if (spec) functions.push(spec);
    }
    return { address, functions };
  }
  return undefined;
}

function readAddress(report: ConfigReport, where: string, value: unknown): ListenAddress {
  if (value === undefined || value === null) return defaultFunctionAddress;
  if (typeof value !== "string") {
    report.problem(`'${where}' must be host:port`);
    return defaultFunctionAddress;
  }
  const parsed = parseListenAddress(value);
  if ("problem" in parsed) {
    report.problem(`'${where}' ${parsed.problem}`);
    return defaultFunctionAddress;
  }
  return parsed;
}

function readNames(problems: string[], where: string, value: unknown): readonly string[] | undefined {
  if (value === undefined || value === null) return undefined;
  if (!Array.isArray(value) || !value.every((v) => typeof v === "string")) {
    problems.push(`'${where}' must be a list of component names`);
    return undefined;
  }
  return value as string[];
}

function readSubscriptions(problems: string[], where: string, value: unknown): FunctionSubscription[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) {
    problems.push(`'${where}' must be a list of { pubsub, topic }`);
    return [];
  }
  const out: FunctionSubscription[] = [];
  const seen = new Set<string>();
  for (const [i, s] of value.entries()) {
    const at = `${where}[${i}]`;
    if (!isPlainObject(s)) {
      problems.push(`'${at}' must be { pubsub: <name>, topic: <topic> }`);
      continue;
    }
    for (const key of Object.keys(s)) if (!subscriptionKeys.includes(key)) problems.push(`unknown key '${at}.${key}'; known: ${subscriptionKeys.join(", ")}`);
    const { pubsub, topic, deadLetterTopic, metadata } = s;
    if (typeof pubsub !== "string" || pubsub === "") problems.push(`'${at}.pubsub' must name a pubsub component`);
    if (typeof topic !== "string" || topic === "") problems.push(`'${at}.topic' must name a topic`);
    if (deadLetterTopic !== undefined && (typeof deadLetterTopic !== "string" || deadLetterTopic === "")) problems.push(`'${at}.deadLetterTopic' must name a topic`);
    if (metadata !== undefined && !(isPlainObject(metadata) && Object.values(metadata).every((v) => typeof v === "string"))) {
      problems.push(`'${at}.metadata' must be a map of strings`);
    }
    if (typeof pubsub !== "string" || typeof topic !== "string") continue;
    const key = `${pubsub}\u0000${topic}`;
    if (seen.has(key)) problems.push(`'${at}' subscribes to topic '${topic}' of pubsub '${pubsub}' a second time`);
    seen.add(key);
    out.push({
      pubsub,
      topic,
      ...(typeof deadLetterTopic === "string" && deadLetterTopic !== "" ? { deadLetterTopic } : {}),
      metadata: isPlainObject(metadata) ? (metadata as Record<string, string>) : {},
    });
  }
  return out;
}
