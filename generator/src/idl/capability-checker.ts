/**
 * Checks one capability and builds its model: names, duplicates, types,
 * feature unlocks, error statuses and the rpcs it serves.
 */
import type { DescService, FileRegistry } from "@bufbuild/protobuf";
import type { CapabilityAst, FieldAst, Name, ParamAst, TypeAst } from "./ast";
import { compareLocs, formatLoc, type Diagnostics } from "./diagnostics";
import { checkErrorStatus, checkErrorSuffix } from "./error-checks";
import type { Capability, CallbackDecl, EnumDecl, Feature, Loc, MessageDecl, Operation, Param, ServedRpc, TypeRef } from "./model";
import { NameTable } from "./name-table";
import { checkNaming } from "./naming";
import { resolveType, type LocalType, type TypePosition, type TypeScope } from "./type-resolver";

/** Who serves each rpc (by full method name), across all capabilities. */
export type ServedRpcRegistry = Map<string, { capability: string; loc: Loc }>;

export function checkCapability(ast: CapabilityAst, protos: FileRegistry, diag: Diagnostics, served: ServedRpcRegistry): Capability {
  const capName = ast.name.text;
  const inCap = `in capability '${capName}'`;
  checkNaming(diag, ast.name, "capability name", "lowerCamel");
  if (capName === "errors") diag.error(ast.name.loc, "capability name 'errors' is taken by the module of the shared errors");
  checkNaming(diag, ast.interfaceName, "interface name", "UpperCamel");

  const cap: Capability = {
    name: capName,
    interfaceName: ast.interfaceName.text,
    doc: ast.doc,
    loc: ast.name.loc,
    serves: [],
    operations: [],
    features: [],
    errors: [],
    messages: [],
    enums: [],
    callbacks: [],
    metadata: [],
    metadataItems: [],
  };

  // Declarations first (empty), so types can refer to each other in any order, recursion included.
  const messages = ast.messages.map((m) => {
    const decl: MessageDecl = { name: m.name.text, doc: m.doc, loc: m.name.loc, fields: [], union: m.union };
    return { ast: m, decl };
  });
  const enums = ast.enums.map((e) => {
    const decl: EnumDecl = { name: e.name.text, doc: e.doc, loc: e.name.loc, values: [] };
    return { ast: e, decl };
  });
  const callbacks = ast.callbacks.map((c) => {
    const decl: CallbackDecl = { name: c.name.text, doc: c.doc, loc: c.name.loc, params: [] };
    return { ast: c, decl };
  });

  // Messages, enums, callbacks, errors and the interface all become TypeScript types in one module: one namespace.
  const locals = new Map<string, LocalType>();
  const typeNames: { name: Name; kind: string; local?: LocalType }[] = [{ name: ast.interfaceName, kind: "interface" }];
  for (const { decl } of messages) typeNames.push({ name: { text: decl.name, loc: decl.loc }, kind: "message", local: { kind: "message", decl } });
  for (const { decl } of enums) typeNames.push({ name: { text: decl.name, loc: decl.loc }, kind: "enum", local: { kind: "enum", decl } });
  for (const { decl } of callbacks) typeNames.push({ name: { text: decl.name, loc: decl.loc }, kind: "callback", local: { kind: "callback", decl } });
  for (const e of ast.errors) typeNames.push({ name: e.name, kind: "error" });
  const firstOfName = new Map<string, { kind: string; loc: Loc }>();
  const generatedNames = reservedTypeNames(ast.name.text, ast.interfaceName.text);
  for (const entry of typeNames.sort((a, b) => compareLocs(a.name.loc, b.name.loc))) {
    if (entry.kind !== "interface") checkNaming(diag, entry.name, `${entry.kind} name`, "UpperCamel");
    if (entry.kind !== "interface" && generatedNames.has(entry.name.text)) {
      diag.error(entry.name.loc, `${entry.kind} name '${entry.name.text}' ${inCap} is taken by generated code (reserved: ${[...generatedNames].join(", ")})`);
      continue;
    }
    if (entry.kind === "error" && !checkErrorSuffix(diag, entry.name)) continue;
    const first = firstOfName.get(entry.name.text);
    if (first) {
      const detail =
        first.kind === entry.kind
          ? `duplicate ${entry.kind} '${entry.name.text}' ${inCap} (first declared at ${formatLoc(first.loc)})`
          : `${entry.kind} '${entry.name.text}' ${inCap} reuses the name of ${first.kind} '${entry.name.text}' declared at ${formatLoc(first.loc)} (messages, enums, callbacks, errors and the interface share one namespace)`;
      diag.error(entry.name.loc, detail);
      continue;
    }
    firstOfName.set(entry.name.text, { kind: entry.kind, loc: entry.name.loc });
    if (entry.local) locals.set(entry.name.text, entry.local);
  }
  const scope: TypeScope = { capabilityName: capName, locals, protos, diag };
  // A repeated name is reported above; only its first declaration enters the model.
  const isFirst = (name: string, loc: Loc): boolean => firstOfName.get(name)?.loc === loc;

  for (const { ast: e, decl } of enums) {
    const values = new NameTable<true>(diag, (n) => `enum value '${n}' in enum '${e.name.text}'`);
    for (const v of e.values) {
      checkNaming(diag, v.name, "enum value", "UPPER_SNAKE");
      if (values.add(v.name, true)) decl.values.push({ name: v.name.text, doc: v.doc, loc: v.name.loc });
    }
    if (e.values.length === 0) diag.error(e.name.loc, `enum '${e.name.text}' ${inCap} has no values`);
    if (isFirst(decl.name, decl.loc)) cap.enums.push(decl);
  }

  for (const { ast: m, decl } of messages) {
    const kind = m.union ? "union" : "message";
    const fields = new NameTable<true>(diag, (n) => `field '${n}' in ${kind} '${m.name.text}'`);
    for (const f of m.fields) {
      checkNaming(diag, f.name, "field name", "lowerCamel");
      const fresh = fields.add(f.name, true);
      const type = resolveType(scope, f.type, "field", `in field '${f.name.text}' of ${kind} '${m.name.text}'`);
      if (m.union && f.optional) diag.error(f.name.loc, `field '${f.name.text}' of union '${m.name.text}' is marked '?'; a union's fields are optional already (exactly one is given)`);
      if (fresh && type) decl.fields.push({ name: f.name.text, doc: f.doc, loc: f.name.loc, type, optional: f.optional, ...fieldConstraints(diag, f, type, m.name.text) });
    }
    if (m.union && m.fields.length < 2) diag.error(m.name.loc, `union '${m.name.text}' ${inCap} needs at least two fields (exactly one of them is given)`);
    if (isFirst(decl.name, decl.loc)) cap.messages.push(decl);
  }

  for (const { ast: c, decl } of callbacks) {
    const context = `in callback '${c.name.text}'`;
    decl.params = checkParams(scope, c.params, "callbackParam", context);
    const returns = checkReturns(scope, c.returns, "callbackReturn", context);
    if (returns) decl.returns = returns;
    if (isFirst(decl.name, decl.loc)) cap.callbacks.push(decl);
  }

  for (const e of ast.errors) {
    const decl = checkErrorStatus(diag, e);
    if (decl && isFirst(e.name.text, e.name.loc)) cap.errors.push(decl);
  }

  const operations = new NameTable<Operation>(diag, (n) => `operation '${n}' ${inCap}`);
  for (const o of ast.operations) {
    checkNaming(diag, o.name, "operation name", "lowerCamel");
    if (reservedOperationNames.has(o.name.text)) {
      diag.error(o.name.loc, `operation name '${o.name.text}' is reserved (every component has features, health() and close(); 'then' would make a component look like a promise)`);
      continue;
    }
    const context = `in operation '${o.name.text}'`;
    const op: Operation = { name: o.name.text, doc: o.doc, loc: o.name.loc, params: checkParams(scope, o.params, "operationParam", context) };
    const returns = checkReturns(scope, o.returns, "operationReturn", context);
    if (returns) op.returns = returns;
    if (operations.add(o.name, op)) cap.operations.push(op);
  }

  const features = new NameTable<Feature>(diag, (n) => `feature '${n}' ${inCap}`);
  for (const f of ast.features) {
    checkNaming(diag, f.name, "feature name", "UPPER_SNAKE");
    const feature: Feature = { name: f.name.text, doc: f.doc, loc: f.name.loc, unlocks: [] };
    const fresh = features.add(f.name, feature);
    for (const opName of f.unlocks) {
      const op = operations.get(opName.text);
      if (!op) {
        diag.error(opName.loc, `feature '${f.name.text}' unlocks unknown operation '${opName.text}'`);
      } else if (op.unlockedBy === feature) {
        diag.error(opName.loc, `feature '${f.name.text}' lists operation '${opName.text}' twice`);
      } else if (op.unlockedBy) {
        diag.error(opName.loc, `operation '${opName.text}' is already unlocked by feature '${op.unlockedBy.name}' (an operation may be unlocked by at most one feature)`);
      } else if (fresh) {
        op.unlockedBy = feature;
        feature.unlocks.push(op);
      }
    }
    if (fresh) cap.features.push(feature);
  }

  for (const entry of ast.serves) {
    const rpc = resolveRpc(protos, entry, diag);
    if (!rpc) continue;
    const fullName = `${rpc.service.typeName}.${rpc.method.name}`;
    const already = served.get(fullName);
    if (already) {
      const detail =
        already.capability === capName
          ? `capability '${capName}' already serves rpc '${fullName}' (at ${formatLoc(already.loc)})`
          : `rpc '${fullName}' is already served by capability '${already.capability}' (at ${formatLoc(already.loc)}); an rpc may be served by one capability only`;
      diag.error(entry.loc, detail);
      continue;
    }
    served.set(fullName, { capability: capName, loc: entry.loc });
    cap.serves.push(rpc);
  }

  return cap;
}

function checkParams(scope: TypeScope, params: ParamAst[], position: TypePosition, context: string): Param[] {
  const names = new NameTable<true>(scope.diag, (n) => `parameter '${n}' ${context}`);
  const out: Param[] = [];
  for (const p of params) {
    checkNaming(scope.diag, p.name, "parameter name", "lowerCamel");
    if (position === "operationParam" && p.name.text === "context") {
      scope.diag.error(p.name.loc, `parameter name 'context' ${context} is taken by the call's context every operation receives`);
      continue;
    }
    const fresh = names.add(p.name, true);
    const type = resolveType(scope, p.type, position, context);
    if (fresh && type) out.push({ name: p.name.text, type, loc: p.name.loc });
  }
  return out;
}

function checkReturns(scope: TypeScope, type: TypeAst | undefined, position: TypePosition, context: string): TypeRef | undefined {
  return type && resolveType(scope, type, position, context);
}

/** Resolves `Service.Method`, the service by simple name (if unambiguous) or full name. */
function resolveRpc(protos: FileRegistry, entry: Name, diag: Diagnostics): ServedRpc | undefined {
  const written = entry.text;
  const qualified = written.startsWith(".") ? written.slice(1) : written;
  const dot = qualified.lastIndexOf(".");
  if (dot < 0) {
    diag.error(entry.loc, `serves entry '${written}' must name an rpc as Service.Method (like Runtime.GetState)`);
    return undefined;
  }
  const serviceName = qualified.slice(0, dot);
  const methodName = qualified.slice(dot + 1);
  let service: DescService | undefined;
  if (serviceName.includes(".") || written.startsWith(".")) {
    service = protos.getService(serviceName);
  } else {
    const candidates: DescService[] = [];
    for (const type of protos) if (type.kind === "service" && type.name === serviceName) candidates.push(type);
    if (candidates.length > 1) {
      const names = candidates.map((s) => s.typeName).sort();
      diag.error(entry.loc, `serves ambiguous rpc '${written}' (services named '${serviceName}': ${names.join(", ")}; write the full name)`);
      return undefined;
    }
    service = candidates[0];
  }
  if (!service) {
    diag.error(entry.loc, `serves unknown rpc '${written}' (no service '${serviceName}' in the loaded protos)`);
    return undefined;
  }
  const method = service.methods.find((m) => m.name === methodName);
  if (!method) {
    diag.error(entry.loc, `serves unknown rpc '${written}' (service '${service.typeName}' has no method '${methodName}')`);
    return undefined;
  }
  return { service, method, loc: entry.loc };
}

/** Members every component has (Component in generated/components/component.ts), and `then`. */
const reservedOperationNames = new Set(["features", "health", "close", "then", "constructor"]);

/** Type names the generator itself declares in a capability's module. */
function reservedTypeNames(capability: string, interfaceName: string): Set<string> {
  const pascal = capability[0].toUpperCase() + capability.slice(1);
  return new Set([`${pascal}Feature`, `${interfaceName}With`, "Component", "ComponentError", "Subscription", "RequestChecks"]);
}

const boundedScalars: ReadonlySet<string> = new Set(["int32", "uint32", "double"]);

/**
 * min, max and pattern of a message field: bounds on int32, uint32 and double
 * fields (whole numbers on the integer ones), a compilable pattern on string
 * fields, each written once. Lists and maps are not constrained element-wise.
 */
function fieldConstraints(diag: Diagnostics, f: FieldAst, type: TypeRef, message: string): { min?: number; max?: number; pattern?: string } {
  const out: { min?: number; max?: number; pattern?: string } = {};
  const what = `field '${f.name.text}' of '${message}'`;
  const scalar = type.kind === "scalar" ? type.name : undefined;
  for (const which of ["min", "max"] as const) {
    const literals = f[which];
    if (literals.length > 1) diag.error(literals[1]!.loc, `'${which}' is written twice on ${what}`);
    const literal = literals[0];
    if (!literal) continue;
    if (scalar === undefined || !boundedScalars.has(scalar)) {
      diag.error(literal.loc, `'${which}' of ${what} needs an int32, uint32 or double field`);
    } else if (literal.kind !== "number" || (scalar !== "double" && !Number.isSafeInteger(literal.value))) {
      diag.error(literal.loc, `'${which}' of ${what} (${scalar}) must be ${scalar === "double" ? "a number" : "an integer"}`);
    } else {
      out[which] = literal.value;
    }
  }
  if (out.min !== undefined && out.max !== undefined && out.min > out.max) diag.error(f.max[0]!.loc, `${what} has 'max' below 'min'`);
  if (f.pattern.length > 1) diag.error(f.pattern[1]!.loc, `'pattern' is written twice on ${what}`);
  const pattern = f.pattern[0];
  if (pattern) {
    if (scalar !== "string") diag.error(pattern.loc, `'pattern' of ${what} needs a string field`);
    else if (pattern.kind !== "string") diag.error(pattern.loc, `'pattern' of ${what} must be a string (a regular expression)`);
    else {
      try {
        new RegExp(pattern.value, "u");
        out.pattern = pattern.value;
      } catch (error) {
        diag.error(pattern.loc, `'pattern' of ${what} is not a valid regular expression: ${(error as Error).message}`);
      }
    }
  }
  return out;
}
