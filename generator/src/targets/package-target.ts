import { readFileSync } from "node:fs";
import { join } from "node:path";
import { jsonFile } from "../output/output-file";
import type { Target } from "./target";
import { tsOutputRoot } from "./es-plugin";
import { componentRuntime } from "./component-runtime";

/** The npm runtime libraries generated code imports, at the versions the generator emits code for. */
const runtimeLibraries = ["@bufbuild/protobuf", "@connectrpc/connect", componentRuntime] as const;

/**
 * generated/ is an npm workspace (@ottavo/generated) so the kernel, adapters and
 * SDKs import it by name; its package.json and tsconfig.json are output like the rest.
 */
export const packageTarget: Target = {
  name: "package",
  generate() {
    const own = JSON.parse(readFileSync(join(__dirname, "..", "..", "package.json"), "utf8")) as {
      version: string;
      peerDependencies: Record<string, string>;
      dependencies: Record<string, string>;
    };
    const dependencies: Record<string, string> = {};
    for (const lib of runtimeLibraries) {
      const version = own.dependencies[lib] ?? own.peerDependencies[lib];
      if (!version) throw new Error(`generator/package.json does not pin ${lib}`);
      dependencies[lib] = version;
    }
    return [
      jsonFile(`${tsOutputRoot}/package.json`, "generator/src/targets/package-target.ts", {
        name: "@ottavo/generated",
        version: own.version,
        private: true,
        description: "Typed code compiled from spec/ by make gen: messages, service contracts, component interfaces, clients.",
        exports: { "./*": { types: "./dist/*.d.ts", default: "./dist/*.js" } },
        dependencies,
      }),
      jsonFile(`${tsOutputRoot}/tsconfig.json`, "generator/src/targets/package-target.ts", {
        extends: "../tsconfig.base.json",
        compilerOptions: { rootDir: ".", outDir: "dist" },
        include: ["**/*.ts"],
        exclude: ["dist", "node_modules"],
        // tsc -b builds the runtime package before the code that imports it.
        references: [{ path: "../component-runtime" }],
      }),
    ];
  },
};
