import type { GeneratedFile, Printable } from "@bufbuild/protoplugin";
import type { Capability, FieldDecl, MessageDecl, TypeRef } from "../idl";
import { componentRuntime } from "./component-runtime";
import { tsType } from "./ts-types";

/** The name a capability module exports its request checks under: `stateStoreRequestChecks`. */
export function requestChecksName(capability: Capability): string {
  return `${capability.interfaceName[0].toLowerCase()}${capability.interfaceName.slice(1)}RequestChecks`;
}

/** Whether a field declares a bound or a pattern. */
export function hasConstraints(field: FieldDecl): boolean {
  return field.min !== undefined || field.max !== undefined || field.pattern !== undefined;
}

/**
 * The messages of a capability that have something to check: unions, fields with
 * a bound or a pattern, and fields holding such messages (in lists and maps too).
 * A fixpoint, so messages that refer to each other settle whatever the order.
 */
function checkedMessages(capability: Capability): Set<MessageDecl> {
  const checked = new Set<MessageDecl>();
  for (let changed = true; changed; ) {
    changed = false;
    for (const message of capability.messages) {
      if (checked.has(message)) continue;
      if (message.union || message.fields.some((field) => hasConstraints(field) || needsCheck(field.type, checked))) {
        checked.add(message);
        changed = true;
      }
    }
  }
  return checked;
}

function needsCheck(type: TypeRef, checked: ReadonlySet<MessageDecl>): boolean {
  switch (type.kind) {
    case "message":
      return checked.has(type.decl);
    case "list":
      return needsCheck(type.element, checked);
    case "map":
      return needsCheck(type.value, checked);
    default:
      return false;
  }
}

/**
 * Per checked message a function that pushes its problems, and the exported table
 * of operation checks that the adapter binding (defineAdapter) runs before every
 * call of those operations. Paths in messages name the parameter and the field,
 * e.g. `request.operations[2].set.ttlInSeconds`.
 */
export function printRequestChecks(f: GeneratedFile, capability: Capability): void {
  const checked = checkedMessages(capability);
  const RequestChecks = f.import("RequestChecks", componentRuntime, true);
  const fn = (message: MessageDecl) => `${message.name[0].toLowerCase()}${message.name.slice(1)}Problems`;

  /** Statements checking `value` (a JS expression) of `type` at path `at` (a JS expression), or none. */
  const checkType = (type: TypeRef, value: string, at: string, depth: number, indent: string): Printable[][] => {
    switch (type.kind) {
      case "message":
        return checked.has(type.decl) ? [[indent, fn(type.decl), "(", value, ", ", at, ", problems);"]] : [];
      case "list": {
        const i = `i${depth}`;
        const inner = checkType(type.element, `${value}[${i}]`, `${at} + "[" + ${i} + "]"`, depth + 1, indent + "  ");
        if (inner.length === 0) return [];
        return [[indent, `for (let ${i} = 0; ${i} < ${value}.length; ${i}++) {`], ...inner, [indent, "}"]];
      }
      case "map": {
        const [k, v] = [`k${depth}`, `v${depth}`];
        const inner = checkType(type.value, v, `${at} + "[" + JSON.stringify(${k}) + "]"`, depth + 1, indent + "  ");
        if (inner.length === 0) return [];
        const entries = type.key.kind === "scalar" && type.key.name === "string" ? `Object.entries(${value})` : value;
        return [[indent, `for (const [${k}, ${v}] of ${entries}) {`], ...inner, [indent, "}"]];
      }
      default:
        return [];
    }
  };

  const checkBounds = () => f.import("checkBounds", componentRuntime);
  const checkPattern = () => f.import("checkPattern", componentRuntime);
  for (const message of capability.messages.filter((m) => checked.has(m))) {
    f.print();
    f.print(f.jsDoc(`Pushes what ${message.name} breaks of spec/components beyond its type, each problem naming its path from \`at\`.`));
    f.print("function ", fn(message), "(value: ", message.name, ", at: string, problems: string[]): void {");
    if (message.union) {
      f.print("  ", f.import("checkExactlyOne", componentRuntime), "(value, at, [", message.fields.map((field) => JSON.stringify(field.name)).join(", "), "], problems);");
    }
    for (const field of message.fields) {
      const value = `value.${field.name}`;
      const at = `at + ${JSON.stringify(`.${field.name}`)}`;
      const maybeAbsent = field.optional || message.union;
      const indent = maybeAbsent ? "    " : "  ";
      const lines: Printable[][] = [];
      if (field.min !== undefined || field.max !== undefined) {
        const integer = field.type.kind === "scalar" && field.type.name !== "double";
        lines.push([indent, checkBounds(), "(", value, ", ", at, ", ", String(field.min), ", ", String(field.max), ", ", String(integer), ", problems);"]);
      }
      if (field.pattern !== undefined) lines.push([indent, checkPattern(), "(", value, ", ", at, ", ", f.string(field.pattern), ", problems);"]);
      lines.push(...checkType(field.type, value, at, 0, indent));
      if (lines.length === 0) continue;
      if (maybeAbsent) f.print("  if (", value, " !== undefined) {");
      for (const line of lines) f.print(...line);
      if (maybeAbsent) f.print("  }");
    }
    f.print("}");
  }

  f.print();
  f.print(f.jsDoc(`Per operation of ${capability.interfaceName}, the checks of its arguments that spec/components declares; the adapter binding runs them before each call.`));
  f.print(f.export("const", requestChecksName(capability)), ": ", RequestChecks, " = {");
  for (const op of capability.operations) {
    const body: Printable[][] = [];
    op.params.forEach((param, i) => {
      const lines = checkType(param.type, `p${i}`, JSON.stringify(param.name), 0, "    ");
      if (lines.length === 0) return;
      body.push(["    const p", String(i), " = args[", String(i), "] as ", ...tsType(f, param.type), ";"], ...lines);
    });
    if (body.length === 0) continue;
    f.print("  ", op.name, "(args) {");
    f.print("    const problems: string[] = [];");
    for (const line of body) f.print(...line);
    f.print("    return problems;");
    f.print("  },");
  }
  f.print("};");
}
