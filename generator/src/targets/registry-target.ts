import type { Schema } from "@bufbuild/protoplugin";
import type { Target } from "./target";
import { runTsTarget } from "./es-plugin";
import { componentRuntime } from "./component-runtime";
import { capabilityModule, pascalCase } from "./ts-names";

/**
 * The component registry contract: every capability kind with its component
 * interface and features, the factory type adapters are registered as, and the
 * table of adapters spec/components declares (so the kernel can check that every
 * declared adapter has a factory, and no factory is undeclared).
 */
export const registryTarget: Target = {
  name: "registry",
  generate: (spec) =>
    runTsTarget(
      spec,
      "registry",
      (schema: Schema) => {
        const f = schema.generateFile("components/registry.ts");
        const capabilities = spec.idl.capabilities;
        const AdapterFactory = f.import("AdapterFactory", componentRuntime, true);
        f.print(f.jsDoc("Each capability kind and the interface its components implement."));
        f.print(f.export("interface", "CapabilityComponents"), " {");
        for (const c of capabilities) {
          f.print("  ", c.name, ": ", f.import(c.interfaceName, capabilityModule(c.name), true), ";");
        }
        f.print("}");
        f.print();
        f.print(f.jsDoc("Each capability kind and the union of its optional features."));
        f.print(f.export("interface", "CapabilityFeatures"), " {");
        for (const c of capabilities) {
          f.print("  ", c.name, ": ", f.import(`${pascalCase(c.name)}Feature`, capabilityModule(c.name), true), ";");
        }
        f.print("}");
        f.print();
        f.print(f.jsDoc("A capability kind, as config files name them."));
        f.print(f.export("type", "CapabilityKind"), " = keyof CapabilityComponents;");
        f.print();
        f.print(f.jsDoc("Every capability kind, in name order."));
        f.print(f.export("const", "capabilityKinds"), ": readonly CapabilityKind[] = [", capabilities.map((c) => `"${c.name}"`).join(", "), "];");
        f.print();
        f.print(f.jsDoc("The factory of an adapter of capability K, as the registry holds it."));
        f.print(f.export("type", "CapabilityAdapterFactory"), "<K extends CapabilityKind = CapabilityKind> = ", AdapterFactory, "<K, CapabilityComponents[K]>;");
        f.print();
        f.print(f.jsDoc("An adapter declared in spec/components: its capability, type name and features."));
        f.print(f.export("interface", "AdapterDeclaration"), " {");
        f.print("  readonly capability: CapabilityKind;");
        f.print("  readonly type: string;");
        f.print("  readonly features: readonly string[];");
        f.print("}");
        f.print();
        f.print(f.jsDoc("Every adapter declared in spec/components, by type then capability."));
        f.print(f.export("const", "declaredAdapters"), ": readonly AdapterDeclaration[] = [");
        for (const a of spec.idl.adapters) {
          const features = a.features.map((x) => `"${x.name}"`).join(", ");
          f.print(`  { capability: "${a.capability.name}", type: ${JSON.stringify(a.type)}, features: [${features}] },`);
        }
        f.print("];");
      },
      () => "spec/components",
    ),
};
