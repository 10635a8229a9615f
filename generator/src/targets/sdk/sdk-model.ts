import type { DescField, DescMessage, DescMethod, DescService } from "@bufbuild/protobuf";
import { getComments } from "@bufbuild/protoplugin";
import type { Capability, ErrorDecl, GrpcStatusName } from "../../idl";
import type { SpecModel } from "../../spec-model";
import { leaseUnlockRpc, rpcSurfaces, type ItemsArg, type SpecialShape } from "./sdk-surface";

/**
 * What every SDK target prints, once for all languages: the client's groups
 * (one per capability, plus the client itself for rpcs no capability serves),
 * their methods with arguments and options resolved to proto fields, and the
 * typed errors a caller can tell apart on the wire.
 */
export interface SdkModel {
  /** The services whose stubs the SDKs wrap (those a capability serves). */
  readonly services: readonly DescService[];
  /** Capability groups, sorted by name. */
  readonly groups: readonly SdkGroup[];
  /** Methods on the client itself (rpcs of those services that no capability serves). */
  readonly rootMethods: readonly SdkMethod[];
  readonly errors: readonly SdkError[];
}

export interface SdkGroup {
  /** The capability's name: "state", "lock". */
  readonly name: string;
  readonly doc: string;
  readonly source: string;
  readonly methods: readonly SdkMethod[];
}

/** A field reached from a message by a path of fields. */
export interface FieldPath {
  readonly fields: readonly DescField[];
  /** The leaf field. */
  readonly leaf: DescField;
}

export interface SdkArg {
  /** lowerCamel name of the argument. */
  readonly name: string;
  readonly doc: string;
  readonly kind: "field" | "items";
  /** kind "field": the request field it fills. kind "items": the repeated message field. */
  readonly path: FieldPath;
  /** kind "items": the item's key field and, for the map form, its value field. */
  readonly itemKey?: DescField;
  readonly itemValue?: DescField;
}

export interface SdkOption {
  readonly name: string;
  readonly doc: string;
  /** From the request message, or from the item message when the method has an items argument. */
  readonly path: FieldPath;
}

export interface SdkMethod {
  readonly name: string;
  readonly doc: string;
  readonly rpc: DescMethod;
  readonly shape: "unary" | "stream" | SpecialShape;
  readonly args: readonly SdkArg[];
  readonly options: readonly SdkOption[];
  /** A path into the response returned instead of the whole message. */
  readonly returns?: FieldPath;
  /** shape "lease": the rpc that releases it. */
  readonly unlock?: DescMethod;
  /** shape "watch": the repeated response field that is empty in the runtime's confirmation. */
  readonly confirmedBy?: FieldPath;
}

/**
 * An error a capability declares in spec/components, as a typed error class.
 * The runtime names it in a google.rpc.ErrorInfo detail (reason: the IDL name,
 * metadata "capability"), which is how a client recognises it. Against a
 * runtime that sends no ErrorInfo, the status alone still names it when, for
 * the rpcs of its capability, only this error answers with that status
 * (`byStatus`); statuses the runtime also uses for its own answers (bad input,
 * no such component, transport trouble) never do.
 */
export interface SdkError {
  /** The class name: the IDL name, prefixed by the capability when it would read as a bare status. */
  readonly name: string;
  /** The IDL name: the ErrorInfo reason the runtime sends. */
  readonly reason: string;
  readonly doc: string;
  readonly status: GrpcStatusName;
  readonly capability: string;
  readonly source: string;
  /** True when the status alone names the error (see above). */
  readonly byStatus: boolean;
}

/** The ErrorInfo domain of the runtime's declared errors (runtime-kernel/src/errors/error-info.ts). */
export const errorInfoDomain = "ottavo.dev";

/** Statuses the runtime itself answers with, whatever the component: these never identify an IDL error by themselves. */
const ambiguousStatuses: ReadonlySet<GrpcStatusName> = new Set<GrpcStatusName>([
  "INVALID_ARGUMENT",
  "FAILED_PRECONDITION",
  "UNAVAILABLE",
  "INTERNAL",
  "UNIMPLEMENTED",
  "DEADLINE_EXCEEDED",
  "CANCELLED",
  "UNKNOWN",
]);

/** The statuses' general class names (in every SDK): an IDL error of the same name is prefixed by its capability. */
const statusClassNames = new Set([
  "Canceled", "Cancelled", "Unknown", "InvalidArgument", "DeadlineExceeded", "NotFound", "AlreadyExists", "PermissionDenied",
  "ResourceExhausted", "FailedPrecondition", "Aborted", "OutOfRange", "Unimplemented", "Internal", "Unavailable", "DataLoss",
  "Unauthenticated",
]);

export function buildSdkModel(spec: SpecModel): SdkModel {
  const servedBy = new Map<DescMethod, Capability>();
  for (const capability of spec.idl.capabilities) {
    for (const served of capability.serves) servedBy.set(served.method, capability);
  }
  const services = spec.protos.files
    .flatMap((file) => file.services)
    .filter((service) => service.methods.some((m) => servedBy.has(m)));
  const groups: SdkGroup[] = spec.idl.capabilities
    .filter((capability) => capability.serves.some((s) => services.includes(s.service)))
    .map((capability) => ({
      name: capability.name,
      doc: capability.doc,
      source: capability.loc.file,
      methods: capability.serves.map((s) => sdkMethod(s.method)),
    }));
  const rootMethods = services.flatMap((s) => s.methods.filter((m) => !servedBy.has(m)).map(sdkMethod));
  const errors = spec.idl.capabilities.flatMap((capability) => typedErrors(capability));
  const names = new Set<string>();
  for (const error of errors) {
    if (names.has(error.name)) throw new Error(`two IDL errors would both be SDK class ${error.name}`);
    names.add(error.name);
  }
  return { services, groups, rootMethods, errors };
}

function typedErrors(capability: Capability): SdkError[] {
  const byStatus = new Map<GrpcStatusName, ErrorDecl[]>();
  for (const error of capability.errors) byStatus.set(error.status, [...(byStatus.get(error.status) ?? []), error]);
  return capability.errors.map((error) => ({
    name: statusClassNames.has(error.name) ? `${pascal(capability.name)}${error.name}` : error.name,
    reason: error.name,
    doc: error.doc,
    status: error.status,
    capability: capability.name,
    source: capability.loc.file,
    byStatus: !ambiguousStatuses.has(error.status) && byStatus.get(error.status)!.length === 1,
  }));
}

function sdkMethod(rpc: DescMethod): SdkMethod {
  const surface = rpc.parent.name === "Runtime" ? rpcSurfaces[rpc.name] : undefined;
  const where = `${rpc.parent.name}.${rpc.name}`;
  const shape = surface?.shape ?? (rpc.methodKind === "unary" ? "unary" : "stream");
  const request = rpc.input;
  const args: SdkArg[] = [];
  const taken: FieldPath[] = [];
  let itemsArg: SdkArg | undefined;
  for (const arg of surface?.args ?? []) {
    if (typeof arg === "string") {
      const path = resolvePath(request, arg, where);
      taken.push(path);
      args.push({ name: argName(path), doc: pathDoc(path), kind: "field", path });
    } else {
      itemsArg = itemsArgument(request, arg, where);
      taken.push(itemsArg.path);
      args.push(itemsArg);
    }
  }
  // With an items argument, the options are the item's other fields, applied to each item.
  const optionRoot = itemsArg ? itemsArg.path.leaf.message! : request;
  const itemsSurface = surface?.args?.find((a): a is ItemsArg => typeof a !== "string");
  const optionTaken = itemsArg
    ? [itemsArg.itemKey!, itemsArg.itemValue, ...(itemsSurface?.omit ?? []).map((name) => fieldOf(optionRoot, name, where))].filter((f): f is DescField => f !== undefined)
    : [];
  const options = shape === "stream" && rpc.methodKind !== "server_streaming"
    ? []
    : optionPaths(optionRoot, [], taken, optionTaken).map((path) => ({ name: optionName(path), doc: pathDoc(path), path }));
  const seen = new Set(args.map((a) => a.name));
  for (const option of options) {
    if (seen.has(option.name)) throw new Error(`${where}: two arguments or options are both named ${option.name}`);
    seen.add(option.name);
  }
  const unlock = shape === "lease" ? rpc.parent.methods.find((m) => m.name === leaseUnlockRpc) : undefined;
  if (shape === "lease" && !unlock) throw new Error(`${where}: a lease needs the rpc ${leaseUnlockRpc} in the same service`);
  return {
    name: surface?.name ?? lowerFirst(rpc.name),
    doc: comment(rpc),
    rpc,
    shape,
    args,
    options,
    ...(surface?.returns !== undefined ? { returns: resolvePath(rpc.output, surface.returns, where) } : {}),
    ...(unlock ? { unlock } : {}),
    ...(surface?.confirmedBy !== undefined ? { confirmedBy: confirmation(rpc, surface.confirmedBy, where) } : {}),
  };
}

function confirmation(rpc: DescMethod, field: string, where: string): FieldPath {
  const path = resolvePath(rpc.output, field, where);
  if (path.fields.length !== 1 || path.leaf.fieldKind !== "list") throw new Error(`${where}: confirmedBy ${field} is not a repeated field of ${rpc.output.typeName}`);
  return path;
}

function itemsArgument(request: DescMessage, arg: ItemsArg, where: string): SdkArg {
  const path = resolvePath(request, arg.items, where);
  const item = path.leaf.fieldKind === "list" && path.leaf.listKind === "message" ? path.leaf.message : undefined;
  if (!item) throw new Error(`${where}: ${arg.items} is not a repeated message field`);
  const itemKey = fieldOf(item, arg.key, where);
  const itemValue = arg.value !== undefined ? fieldOf(item, arg.value, where) : undefined;
  return {
    name: itemValue ? "items" : "keys",
    doc: itemValue
      ? `The items to write, key to value; ${fieldDoc(path.leaf)}`
      : `The keys; ${fieldDoc(path.leaf)}`,
    kind: "items",
    path,
    itemKey,
    ...(itemValue ? { itemValue } : {}),
  };
}

/**
 * Every leaf field under root that no argument fills, depth first in field
 * order. Singular messages of our own spec are flattened (etag.value becomes
 * `etag`, options.concurrency `concurrency`); well-known types and lists stay whole.
 */
function optionPaths(root: DescMessage, prefix: DescField[], taken: readonly FieldPath[], skip: readonly DescField[]): FieldPath[] {
  const out: FieldPath[] = [];
  for (const field of root.fields) {
    if (skip.includes(field)) continue;
    const path = [...prefix, field];
    if (taken.some((t) => samePath(t.fields, path))) continue;
    // A oneof whose other member an argument fills (SubscribeTopicEvents' initial_request) offers nothing here.
    if (field.oneof && taken.some((t) => t.fields.length > prefix.length && t.fields[prefix.length] !== field && t.fields[prefix.length].oneof === field.oneof)) continue;
    const inner = taken.some((t) => startsWith(t.fields, path));
    if (field.fieldKind === "message" && (inner || !field.message.typeName.startsWith("google.protobuf."))) {
      out.push(...optionPaths(field.message, path, taken, skip));
    } else {
      out.push({ fields: path, leaf: field });
    }
  }
  return out;
}

function resolvePath(root: DescMessage, dotted: string, where: string): FieldPath {
  const fields: DescField[] = [];
  let message: DescMessage | undefined = root;
  for (const part of dotted.split(".")) {
    if (!message) throw new Error(`${where}: ${dotted} goes through a field that is not a message`);
    const field = fieldOf(message, part, where);
    fields.push(field);
    message = field.fieldKind === "message" ? field.message : undefined;
  }
  return { fields, leaf: fields[fields.length - 1] };
}

function fieldOf(message: DescMessage, name: string, where: string): DescField {
  const field = message.fields.find((f) => f.name === name);
  if (!field) throw new Error(`${where}: ${message.typeName} has no field ${name}`);
  return field;
}

/** An argument is named by its field ("store_name" -> "storeName"). */
function argName(path: FieldPath): string {
  return path.leaf.name === "value" && path.fields.length > 1 ? path.fields[path.fields.length - 2].localName : path.leaf.localName;
}

/** An option is named by its leaf field, or by the field holding it when the leaf is a bare `value` (Etag.value -> etag). */
const optionName = argName;

function samePath(a: readonly DescField[], b: readonly DescField[]): boolean {
  return a.length === b.length && a.every((f, i) => f === b[i]);
}

function startsWith(path: readonly DescField[], prefix: readonly DescField[]): boolean {
  return path.length > prefix.length && prefix.every((f, i) => f === path[i]);
}

export function comment(desc: Parameters<typeof getComments>[0]): string {
  return (getComments(desc).leading ?? "").trim().replace(/^ /gm, "");
}

/** A bare `value` leaf (Etag.value, Any.value) is documented by the field that holds it. */
function pathDoc(path: FieldPath): string {
  const holder = path.fields.length > 1 && path.leaf.name === "value" ? path.fields[path.fields.length - 2] : undefined;
  return (holder && fieldDoc(holder)) || fieldDoc(path.leaf);
}

function fieldDoc(field: DescField): string {
  return comment(field);
}

function lowerFirst(name: string): string {
  return name[0].toLowerCase() + name.slice(1);
}

function pascal(name: string): string {
  return name.split(/[^A-Za-z0-9]+/).map((p) => p[0].toUpperCase() + p.slice(1)).join("");
}
