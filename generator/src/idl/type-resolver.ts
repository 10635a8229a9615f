/**
 * Resolves a written type to a TypeRef and enforces where each kind of type
 * may appear (streams, callbacks and subscriptions are shapes of a call, not
 * of data, so they only appear at the top of a signature).
 */
import type { FileRegistry } from "@bufbuild/protobuf";
import type { TypeAst } from "./ast";
import type { Diagnostics } from "./diagnostics";
import { SCALAR_NAMES, type CallbackDecl, type EnumDecl, type MessageDecl, type ScalarName, type TypeRef } from "./model";

export type TypePosition = "operationParam" | "operationReturn" | "callbackParam" | "callbackReturn" | "field";

export type LocalType = { kind: "message"; decl: MessageDecl } | { kind: "enum"; decl: EnumDecl } | { kind: "callback"; decl: CallbackDecl };

export interface TypeScope {
  capabilityName: string;
  locals: ReadonlyMap<string, LocalType>;
  protos: FileRegistry;
  diag: Diagnostics;
}

const MAP_KEYS: readonly string[] = ["string", "int32", "int64", "bool"];
const STREAM_POSITIONS: readonly TypePosition[] = ["operationParam", "operationReturn", "callbackReturn"];

const isScalar = (name: string): name is ScalarName => (SCALAR_NAMES as readonly string[]).includes(name);

/**
 * Resolves `type` written at `position`; `context` names where it is written
 * (e.g. "in operation 'get'"). Reports problems and returns undefined on any.
 */
export function resolveType(scope: TypeScope, type: TypeAst, position: TypePosition, context: string): TypeRef | undefined {
  return resolve(scope, type, position, context, false);
}

function resolve(scope: TypeScope, type: TypeAst, position: TypePosition, context: string, nested: boolean): TypeRef | undefined {
  const { diag } = scope;
  switch (type.kind) {
    case "list": {
      const element = resolve(scope, type.element, position, context, true);
      return element && { kind: "list", element };
    }
    case "map": {
      const key = resolve(scope, type.key, position, context, true);
      if (key && !(key.kind === "scalar" && MAP_KEYS.includes(key.name))) {
        diag.error(type.key.loc, `map key type '${describeTypeAst(type.key)}' ${context}: map keys must be string, int32, int64 or bool`);
        return undefined;
      }
      const value = resolve(scope, type.value, position, context, true);
      return key && value && { kind: "map", key, value };
    }
    case "stream": {
      if (nested) {
        diag.error(type.loc, `stream type ${context}: stream<T> cannot be nested inside list, map or stream`);
        return undefined;
      }
      if (!STREAM_POSITIONS.includes(position)) {
        diag.error(type.loc, `stream type ${context}: stream<T> is only allowed as an operation parameter or an operation or callback return type`);
        return undefined;
      }
      const element = resolve(scope, type.element, position, context, true);
      return element && { kind: "stream", element };
    }
    case "name":
      return resolveName(scope, type.name, type.loc, position, context, nested);
  }
}

function resolveName(
  scope: TypeScope,
  name: string,
  loc: TypeAst["loc"],
  position: TypePosition,
  context: string,
  nested: boolean,
): TypeRef | undefined {
  const { diag } = scope;
  if (isScalar(name)) return { kind: "scalar", name };
  if (name === "subscription") {
    if (nested || position !== "operationReturn") {
      diag.error(loc, `'subscription' ${context}: subscription is only allowed as an operation return type`);
      return undefined;
    }
    return { kind: "subscription" };
  }
  if (name.includes(".")) return resolveProto(scope, name, loc, context);
  const local = scope.locals.get(name);
  if (!local) {
    const hint = /^[a-z]/.test(name)
      ? `expected string, bytes, bool, int32, int64, uint32, uint64, double, timestamp, list<T>, map<K, V>, stream<T>, subscription, or a message, enum or callback of capability '${scope.capabilityName}'`
      : `no message, enum or callback of that name in capability '${scope.capabilityName}'`;
    diag.error(loc, `unknown type '${name}' ${context} (${hint})`);
    return undefined;
  }
  if (local.kind === "callback" && (nested || position !== "operationParam")) {
    diag.error(loc, `callback '${name}' ${context}: callbacks are only allowed as operation parameter types`);
    return undefined;
  }
  switch (local.kind) {
    case "message":
      return { kind: "message", decl: local.decl };
    case "enum":
      return { kind: "enum", decl: local.decl };
    case "callback":
      return { kind: "callback", decl: local.decl };
  }
}

function resolveProto(scope: TypeScope, written: string, loc: TypeAst["loc"], context: string): TypeRef | undefined {
  const fullName = written.startsWith(".") ? written.slice(1) : written;
  const found = scope.protos.get(fullName);
  if (found?.kind === "message") return { kind: "protoMessage", desc: found };
  if (found?.kind === "enum") return { kind: "protoEnum", desc: found };
  const detail = found
    ? `'${fullName}' is a proto ${found.kind}, not a message or enum`
    : "no message or enum of that full name in the loaded protos";
  scope.diag.error(loc, `unknown proto type '${written}' ${context} (${detail})`);
  return undefined;
}

/** The type as written, for messages. */
export function describeTypeAst(type: TypeAst): string {
  switch (type.kind) {
    case "name":
      return type.name;
    case "list":
      return `list<${describeTypeAst(type.element)}>`;
    case "stream":
      return `stream<${describeTypeAst(type.element)}>`;
    case "map":
      return `map<${describeTypeAst(type.key)}, ${describeTypeAst(type.value)}>`;
  }
}
