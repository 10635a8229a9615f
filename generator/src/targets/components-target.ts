import type { GeneratedFile, Schema } from "@bufbuild/protoplugin";
import type { Capability, ErrorDecl, FieldDecl, Operation } from "../idl";
import { fieldConstraints } from "./metadata-constraints";
import { printRequestChecks } from "./request-checks";
import type { Target } from "./target";
import { runTsTarget } from "./es-plugin";
import { capabilityModule, docLines, pascalCase, sharedErrorsModule } from "./ts-names";
import { tsReturnType, tsType } from "./ts-types";
import { componentRuntime } from "./component-runtime";

/**
 * Per capability: its records, enums and callbacks, its feature flags, the component
 * interface (core operations plus one interface per feature for what it unlocks),
 * a type that joins them for a declared feature set, and its typed errors.
 */
export const componentsTarget: Target = {
  name: "components",
  generate: (spec) => [
    ...runTsTarget(
      spec,
      "components",
      (schema: Schema) => {
        for (const capability of spec.idl.capabilities) {
          const f = schema.generateFile(`${capabilityModule(capability.name).slice(2)}.ts`);
          printCapability(f, capability);
        }
        if (spec.idl.errors.length > 0) {
          const f = schema.generateFile(`${sharedErrorsModule.slice(2)}.ts`);
          spec.idl.errors.forEach((error, i) => {
            if (i > 0) f.print();
            printErrorClass(f, error, undefined);
          });
        }
      },
      (fileName) =>
        fileName === `${sharedErrorsModule.slice(2)}.ts`
          ? spec.idl.errors[0].loc.file
          : spec.idl.capabilities.find((c) => `${capabilityModule(c.name).slice(2)}.ts` === fileName)!.loc.file,
    ),
  ],
};

function printCapability(f: GeneratedFile, capability: Capability): void {
  const Component = f.import("Component", componentRuntime, true);
  const iface = capability.interfaceName;
  const featureType = `${pascalCase(capability.name)}Feature`;

  for (const message of capability.messages) {
    printDoc(f, message.doc);
    if (message.union) {
      // Exactly one field given: one shape per field, the others absent, so checking
      // one field (`if (op.set)`) narrows to its shape.
      f.print(f.export("type", message.name), " =");
      message.fields.forEach((field, i) => {
        f.print("  | {");
        printDoc(f, fieldDocWithConstraints(field), "      ");
        f.print("      ", field.name, ": ", ...tsType(f, field.type), ";");
        for (const other of message.fields) if (other !== field) f.print("      ", other.name, "?: undefined;");
        f.print("    }", i === message.fields.length - 1 ? ";" : "");
      });
      f.print();
      continue;
    }
    f.print(f.export("interface", message.name), " {");
    for (const field of message.fields) {
      printDoc(f, fieldDocWithConstraints(field), "  ");
      f.print("  ", field.name, field.optional ? "?" : "", ": ", ...tsType(f, field.type), ";");
    }
    f.print("}");
    f.print();
  }
  for (const e of capability.enums) {
    printDoc(f, e.doc);
    f.print(f.export("type", e.name), " =");
    e.values.forEach((value, i) => {
      printDoc(f, value.doc, "  ");
      f.print("  | ", f.string(value.name), i === e.values.length - 1 ? ";" : "");
    });
    f.print();
  }
  for (const callback of capability.callbacks) {
    printDoc(f, callback.doc);
    f.print(f.export("type", callback.name), " = (", ...params(f, callback.params), ") => ", ...tsReturnType(f, callback.returns), ";");
    f.print();
  }

  // Feature flags: a union type and the list of every feature, for checks at run time.
  f.print(f.jsDoc(`The optional features a ${iface} may declare.`));
  if (capability.features.length === 0) {
    f.print(f.export("type", featureType), " = never;");
  } else {
    f.print(f.export("type", featureType), " =");
    capability.features.forEach((feature, i) => {
      printDoc(f, feature.doc, "  ");
      f.print("  | ", f.string(feature.name), i === capability.features.length - 1 ? ";" : "");
    });
  }
  f.print();
  f.print(f.jsDoc(`Every feature of the ${capability.name} capability, in declaration order.`));
  f.print(f.export("const", `${camel(featureType)}s`), ": readonly ", featureType, "[] = [", capability.features.map((x) => `"${x.name}"`).join(", "), "];");
  f.print();

  // The core interface: what every component of this capability implements.
  printDoc(f, capability.doc);
  f.print(f.export("interface", iface), " extends ", Component, "<", featureType, "> {");
  for (const op of capability.operations.filter((o) => o.unlockedBy === undefined)) printOperation(f, op);
  const atOnce = capability.operations.filter(answersAtOnce);
  if (atOnce.length > 0) {
    printDoc(
      f,
      `Present when the component can answer at once (from memory, without waiting on I/O): the same operations,
answering synchronously, with the same request checks. The runtime uses it where waiting is impossible
(a WebAssembly function running on the main thread); absent, every call goes through the operations above.`,
      "  ",
    );
    f.print("  readonly sync?: ", iface, "Sync;");
  }
  f.print("}");
  f.print();
  if (atOnce.length > 0) {
    f.print(f.jsDoc(`A ${iface}'s operations answered synchronously (no streams or callbacks); those a feature unlocks are present when the component declares it.`));
    f.print(f.export("interface", `${iface}Sync`), " {");
    for (const op of atOnce) printOperation(f, op, true);
    f.print("}");
    f.print();
  }

  // One interface per feature that unlocks operations, and the join for a feature set.
  const unlocking = capability.features.filter((feature) => feature.unlocks.length > 0);
  for (const feature of unlocking) {
    f.print(f.jsDoc(`What a ${iface} that declares ${feature.name} implements besides the core operations.`));
    f.print(f.export("interface", `${iface}${pascalCase(feature.name.toLowerCase())}`), " {");
    for (const op of feature.unlocks) printOperation(f, op);
    f.print("}");
    f.print();
  }
  f.print(f.jsDoc(`A ${iface} that declares the features F: it implements the operations they unlock.`));
  const joins = unlocking.map((feature) => `  & ("${feature.name}" extends F ? ${iface}${pascalCase(feature.name.toLowerCase())} : unknown)`);
  const withFeatures = [`${iface} & { readonly features: ReadonlySet<F> }`, ...joins].join("\n");
  f.print(f.export("type", `${iface}With`), `<F extends ${featureType}> = ${withFeatures};`);
  f.print();
  f.print(f.jsDoc(`Narrows a ${iface} to one that declared the feature, so its unlocked operations can be called.`));
  f.print(f.export("function", `${camel(iface)}Has`), `<F extends ${featureType}>(component: ${iface}, feature: F): component is ${iface}With<F> {`);
  f.print("  return component.features.has(feature);");
  f.print("}");

  // Typed errors: a class per declared error, carrying its status.
  for (const error of capability.errors) {
    f.print();
    printErrorClass(f, error, capability.name);
  }

  printRequestChecks(f, capability);
}

/** A field's doc, then what the request checks enforce of it. */
function fieldDocWithConstraints(field: FieldDecl): string {
  const notes = fieldConstraints(field);
  return [field.doc, notes.length > 0 ? `${notes.join("; ")} (checked before the adapter sees the call).`.replace(/^./, (c) => c.toUpperCase()) : ""]
    .filter((s) => s.length > 0)
    .join("\n");
}

/** A declared error's class; capability undefined for the shared errors. */
function printErrorClass(f: GeneratedFile, error: ErrorDecl, capability: string | undefined): void {
  const ComponentError = f.import("ComponentError", componentRuntime);
  printDoc(f, error.doc);
  f.print(f.export("class", `${error.name}Error`), " extends ", ComponentError, " {");
  f.print("  constructor(message: string, cause?: unknown) {");
  const owner = capability === undefined ? "undefined" : f.string(capability);
  f.print("    super(message, ", f.string(error.status), ", ", owner, ", ", f.string(error.name), ", cause);");
  f.print("  }");
  f.print("}");
}

/**
 * Every operation takes the call's context last. It is optional so tests and
 * tools may call a component directly; the kernel always passes it.
 */
function printOperation(f: GeneratedFile, op: Operation, sync = false): void {
  const CallContext = f.import("CallContext", componentRuntime, true);
  printDoc(f, op.doc, "  ");
  const separator = op.params.length > 0 ? ", " : "";
  const name = sync && op.unlockedBy !== undefined ? `${op.name}?` : op.name;
  const returns = sync ? (op.returns === undefined ? ["void"] : tsType(f, op.returns)) : tsReturnType(f, op.returns);
  f.print("  ", name, "(", ...params(f, op.params), separator, "context?: ", CallContext, "): ", ...returns, ";");
}

/** An operation with a synchronous form: no stream in or out, no callback, no subscription. */
function answersAtOnce(op: Operation): boolean {
  const plain = (t: Operation["returns"]) => t === undefined || (t.kind !== "stream" && t.kind !== "callback" && t.kind !== "subscription");
  return plain(op.returns) && op.params.every((p) => plain(p.type));
}

function params(f: GeneratedFile, list: Operation["params"]): ReturnType<typeof tsType> {
  const out: ReturnType<typeof tsType> = [];
  list.forEach((p, i) => {
    if (i > 0) out.push(", ");
    out.push(p.name, ": ", ...tsType(f, p.type));
  });
  return out;
}

export function printDoc(f: GeneratedFile, doc: string, indent = ""): void {
  const lines = docLines(doc);
  if (lines.length > 0) f.print(f.jsDoc(lines.join("\n"), indent));
}

function camel(name: string): string {
  return name[0].toLowerCase() + name.slice(1);
}
