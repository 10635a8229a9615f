import type { DescEnum, DescField, DescMessage, DescMethod, DescService } from "@bufbuild/protobuf";
import type { SpecModel } from "../spec-model";
import { TargetError } from "./target";

/**
 * The WebAssembly ABI as the spec defines it, in one place so that the host table,
 * the guest SDKs and the ABI page agree: one host import per unary rpc of every
 * service a capability serves, requests and responses as protobuf bytes.
 */
export const wasmAbiModule = "ottavo";
/** Bumped on any change a built guest would notice; guests export `ottavo_abi_version_<N>`. */
export const wasmAbiVersion = 1;

/** The guest exports every ottavo-ABI function has, besides its version marker. */
export const wasmGuestExports = {
  alloc: "ottavo_alloc",
  handle: "ottavo_handle",
} as const;

/** Host imports that are part of the ABI but not an rpc. */
export const wasmAbiExtraImports = {
  output: "output",
  log: "log",
} as const;

export interface WasmImport {
  /** The import's name in module `ottavo`: the rpc in snake_case. */
  readonly name: string;
  readonly service: DescService;
  readonly method: DescMethod;
  /** The handler group that serves the rpc (a capability, or "kernel"). */
  readonly group: string;
}

export interface WasmAbi {
  readonly imports: readonly WasmImport[];
  /** Every message and enum the guest codecs need, in a stable order. */
  readonly messages: readonly DescMessage[];
  readonly enums: readonly DescEnum[];
  /** The messages an invocation of a function carries in and out. */
  readonly invocation?: { readonly input: DescMessage; readonly output: DescMessage };
  /**
   * A pub/sub event for a subscribed function: the app callback's OnTopicEvent request
   * (in the invocation's data) and its answer (in the invocation's response data).
   */
  readonly topicEvent?: { readonly method: DescMethod; readonly input: DescMessage; readonly output: DescMessage };
}

/** The group no capability serves, answered by the kernel itself (same name as the server target's). */
const kernelGroup = "kernel";

export function wasmAbi(spec: SpecModel): WasmAbi {
  const served = new Map<string, string>();
  for (const c of spec.idl.capabilities) for (const s of c.serves) served.set(`${s.service.typeName}/${s.method.name}`, c.name);
  const services = spec.protos.files
    .flatMap((f) => f.services)
    .filter((s) => s.methods.some((m) => served.has(`${s.typeName}/${m.name}`)));
  const imports: WasmImport[] = [];
  const byName = new Map<string, WasmImport>();
  for (const service of services) {
    for (const method of service.methods) {
      if (method.methodKind !== "unary") continue;
      const name = snakeCase(method.name);
      const one = { name, service, method, group: served.get(`${service.typeName}/${method.name}`) ?? kernelGroup };
      const earlier = byName.get(name);
      if (earlier) {
        throw new TargetError("wasm", `${service.typeName}.${method.name}`, `import ${name} is also ${earlier.service.name}.${earlier.method.name}`);
      }
      byName.set(name, one);
      imports.push(one);
    }
  }
  const roots: DescMessage[] = imports.flatMap((i) => [i.method.input, i.method.output]);
  // A function is invoked the way InvokeService reaches an app: CommonInvokeRequest in, InvokeResponse out.
  const invokeService = imports.find((i) => i.method.name === "InvokeService");
  const invocation = invokeService
    ? {
        input: fieldMessage(invokeService.method.input, "message"),
        output: invokeService.method.output,
      }
    : undefined;
  // A subscribed function gets each event as an app's callback server would (OnTopicEvent).
  const onTopicEvent = spec.protos.files
    .flatMap((f) => f.services)
    .flatMap((s) => s.methods)
    .find((m) => m.name === "OnTopicEvent" && m.methodKind === "unary");
  const topicEvent = onTopicEvent ? { method: onTopicEvent, input: onTopicEvent.input, output: onTopicEvent.output } : undefined;
  if (topicEvent) roots.push(topicEvent.input, topicEvent.output);
  const messages = new Map<string, DescMessage>();
  const enums = new Map<string, DescEnum>();
  const walk = (m: DescMessage): void => {
    if (messages.has(m.typeName)) return;
    messages.set(m.typeName, m);
    for (const f of m.fields) {
      checkField(f);
      if (f.enum) enums.set(f.enum.typeName, f.enum);
      if (f.message) walk(f.message);
    }
  };
  roots.forEach(walk);
  return { imports, messages: [...messages.values()], enums: [...enums.values()], invocation, topicEvent };
}

function fieldMessage(m: DescMessage, name: string): DescMessage {
  const field = m.fields.find((f) => f.name === name);
  if (!field?.message) throw new TargetError("wasm", m.typeName, `field ${name} is not a message`);
  return field.message;
}

/** The field shapes the guest codecs implement; anything else stops generation with the field's name. */
function checkField(f: DescField): void {
  if (f.oneof) throw new TargetError("wasm", `${f.parent.typeName}.${f.name}`, "oneof fields are not supported by the guest codecs");
  if (f.fieldKind === "map" && f.mapKey !== 9 /* string */) {
    throw new TargetError("wasm", `${f.parent.typeName}.${f.name}`, "only string map keys are supported by the guest codecs");
  }
}

/** "GetBulkState" -> "get_bulk_state". */
export function snakeCase(name: string): string {
  return name.replace(/([a-z0-9])([A-Z])/g, "$1_$2").replace(/([A-Z])([A-Z][a-z])/g, "$1_$2").toLowerCase();
}

/** A message or enum's name inside the guest SDK: nested names joined with "_", package dropped. */
export function guestTypeName(desc: DescMessage | DescEnum): string {
  const pkg = desc.file.proto.package;
  return desc.typeName.slice(pkg.length + 1).replace(/\./g, "_");
}
