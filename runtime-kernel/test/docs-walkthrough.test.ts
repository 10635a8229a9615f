import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runCase, sequencerSuite } from "@ottavo/conformance";
import { Project, ts } from "ts-morph";
import type { CapabilityAdapterFactory } from "@ottavo/generated/components/registry";
import { generateAll } from "../../generator/src/generate";
import { loadSpec } from "../../generator/src/spec-model";

/**
 * docs/architecture.md, "Add an adapter", followed step by step in a scratch copy
 * of spec/ (the repository is not touched): declare the adapter in a .cap, generate,
 * write the adapter against the generated define function, and prove it with the
 * conformance cases. A step the doc names that stopped working fails here.
 */
const root = join(__dirname, "..", "..");
const doc = readFileSync(join(root, "docs", "architecture.md"), "utf8");
const scratch = mkdtempSync(join(tmpdir(), "ottavo-walkthrough-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe("docs/architecture.md: add an adapter", () => {
  const steps = doc.slice(doc.indexOf("## Add an adapter"), doc.indexOf("## Add an rpc"));

  it("is the numbered steps this test follows", () => {
    for (const step of ["1. Declare it in `spec/components/adapters/<name>.cap`", "2. Run `make gen`", "3. Write the adapter", "4. Export the factory", "5. Prove it"]) {
      expect(steps).toContain(step);
    }
  });

  it("works: declare, generate, write against the generated define function, prove with conformance", async () => {
    // 1. Declare it in spec/components/adapters/<name>.cap (in a copy of spec/).
    const copy = join(scratch, "repo");
    const spec = join(copy, "spec");
    cpSync(join(root, "spec"), spec, { recursive: true });
    cpSync(join(root, "buf.yaml"), join(copy, "buf.yaml"));
    writeFileSync(
      join(spec, "components", "adapters", "walkthrough.cap"),
      [
        "/// The walkthrough's sequencer: ids from a starting value, in memory.",
        'adapter "walkthrough" implements sequencer {',
        "  metadata {",
        "    /// The first id of every key.",
        "    start: int = 1 min 1",
        "  }",
        "}",
        "",
      ].join("\n"),
    );

    // 2. Run make gen: it writes generated/components/adapters/<name>.ts.
    const files = generateAll(loadSpec(copy));
    const generated = files.find((f) => f.path.endsWith("components/adapters/walkthrough.ts"));
    expect(generated?.path).toBe("generated/components/adapters/walkthrough.ts");
    expect(generated!.content).toContain("export interface WalkthroughSequencerMetadata");
    expect(generated!.content).toContain("export function defineWalkthroughSequencerAdapter(");
    const adapterDir = join(scratch, "adapter");
    mkdirSync(adapterDir, { recursive: true });
    // The generated file's relative imports name the generated package, as it lives in generated/components/adapters/.
    writeFileSync(join(adapterDir, "walkthrough-generated.ts"), generated!.content.replace(/from "\.\.\/([\w-]+)"/g, 'from "@ottavo/generated/components/$1"'));

    // 3. Write the adapter: a class implementing the generated type, created by define<Type><Capability>Adapter.
    writeFileSync(
      join(adapterDir, "walkthrough-sequencer.ts"),
      `import { defineWalkthroughSequencerAdapter, type WalkthroughSequencer } from "./walkthrough-generated";
import type { NextIdRequest } from "@ottavo/generated/components/sequencer";
import { readBiggerThan } from "@ottavo/adapter-kit";

class WalkthroughSequencer_ implements WalkthroughSequencer {
  readonly features = new Set<never>();
  private readonly next = new Map<string, bigint>();
  constructor(private readonly start: bigint, private readonly floors: ReadonlyMap<string, bigint>) {}
  async nextId(request: NextIdRequest): Promise<bigint> {
    const floor = this.floors.get(request.key);
    const id = this.next.get(request.key) ?? (floor !== undefined && floor >= this.start ? floor + 1n : this.start);
    this.next.set(request.key, id + 1n);
    return id;
  }
  async close(): Promise<void> {}
}

export const walkthroughSequencerAdapter = defineWalkthroughSequencerAdapter(
  async (metadata, context) => new WalkthroughSequencer_(BigInt(metadata.start), readBiggerThan(context)),
);
`,
    );

    // The adapter type-checks against the generated code under the project's strict
    // settings (in memory, beside the real node_modules; nothing is written there).
    const project = new Project({ tsConfigFilePath: join(root, "tsconfig.test.json"), skipAddingFilesFromTsConfig: true });
    for (const file of ["walkthrough-generated.ts", "walkthrough-sequencer.ts"]) {
      project.createSourceFile(join(root, "adapters", ".walkthrough", file), readFileSync(join(adapterDir, file), "utf8"), { overwrite: true });
    }
    const problems = project
      .getPreEmitDiagnostics()
      .map((d) => `${d.getSourceFile()?.getBaseName() ?? "?"}:${d.getLineNumber() ?? 0}: ${ts.flattenDiagnosticMessageText(d.getMessageText() as string | ts.DiagnosticMessageChain, "\n")}`);
    expect(problems).toEqual([]);

    // 4. Export the factory (here: the module's export).
    const { walkthroughSequencerAdapter } = require(join(adapterDir, "walkthrough-sequencer.ts")) as { walkthroughSequencerAdapter: CapabilityAdapterFactory<"sequencer"> };
    expect([walkthroughSequencerAdapter.capability, walkthroughSequencerAdapter.type]).toEqual(["sequencer", "walkthrough"]);
    // Its metadata is validated as declared.
    await expect(walkthroughSequencerAdapter.create({ start: 0 }, { componentName: "w", appId: "a", configDir: scratch, settings: {} })).rejects.toThrow(/start/);

    // 5. Prove it: the sequencer conformance cases pass.
    const open = (settings: Readonly<Record<string, unknown>> = {}) =>
      walkthroughSequencerAdapter.create({ start: 5 }, { componentName: "w", appId: "a", configDir: scratch, settings });
    for (const c of sequencerSuite.cases.core) await runCase(open, undefined, c);
    const first = await (await open()).nextId({ key: "k", metadata: {} });
    expect(first).toBe(5n);
  }, 120_000);
});

describe("docs/architecture.md: add an rpc", () => {
  const steps = doc.slice(doc.indexOf("## Add an rpc"));

  it("is the numbered steps this test follows", () => {
    for (const step of ["1. Add the rpc and its messages", "2. Add it to a capability's `serves` list", "3. Run `make gen`", "4. Implement it in", "5. Test it"]) {
      expect(steps).toContain(step);
    }
  });

  it("works: the generated handler interface gains the rpc, the build fails until it is implemented, then passes", () => {
    // 1. Add the rpc and its messages, each commented, to runtime.proto (in a copy of spec/).
    const copy = join(scratch, "rpc");
    cpSync(join(root, "spec"), join(copy, "spec"), { recursive: true });
    cpSync(join(root, "buf.yaml"), join(copy, "buf.yaml"));
    const proto = join(copy, "spec", "proto", "runtime", "v1", "runtime.proto");
    const protoText = readFileSync(proto, "utf8");
    const sayHello = "  rpc SayHello(SayHelloRequest) returns (SayHelloResponse) {}\n";
    expect(protoText).toContain(sayHello);
    writeFileSync(
      proto,
      protoText.replace(sayHello, `${sayHello}\n  // SayGoodbye asks a hello component for a farewell.\n  rpc SayGoodbye(SayGoodbyeRequest) returns (SayGoodbyeResponse) {}\n`) +
        [
          "",
          "// Asks a hello component for a farewell.",
          "message SayGoodbyeRequest {",
          "  // Name of the hello component to call.",
          "  string service_name = 1;",
          "}",
          "",
          "// The farewell.",
          "message SayGoodbyeResponse {",
          "  // What the component said.",
          "  string goodbye = 1;",
          "}",
          "",
        ].join("\n"),
    );
    // 2. Add it to a capability's serves list.
    const cap = join(copy, "spec", "components", "hello.cap");
    writeFileSync(cap, readFileSync(cap, "utf8").replace("serves Runtime.SayHello", "serves Runtime.SayHello, Runtime.SayGoodbye"));

    // 3. Run make gen: the capability's handler interface gains the method.
    const files = generateAll(loadSpec(copy)).filter((f) => !f.path.startsWith("sdks/"));
    const handlers = files.find((f) => f.path === "generated/server/runtime-handlers.ts");
    expect(handlers?.content).toMatch(/export interface RuntimeHelloRpcs \{[^}]*sayGoodbye\(request: SayGoodbyeRequest, context: HandlerContext\)/s);

    // ... so the build fails until step 4: the kernel's hello handlers, type-checked over the
    // new generated code (in memory, beside the real sources; nothing is written).
    // ts-morph's own TypeScript warns of tsconfig.tests.json's baseUrl, which the project's tsc accepts.
    const project = new Project({
      tsConfigFilePath: join(root, "tsconfig.tests.json"),
      skipAddingFilesFromTsConfig: true,
      compilerOptions: { ignoreDeprecations: ts.versionMajorMinor.startsWith("5.") ? undefined : ts.versionMajorMinor },
    });
    for (const file of files) if (file.path.endsWith(".ts")) project.createSourceFile(join(root, file.path), file.content, { overwrite: true });
    const kernelFile = join(root, "runtime-kernel", "src", "handlers", "hello-handlers.ts");
    const kernelHandlers = project.addSourceFileAtPath(kernelFile);
    const problems = () =>
      project
        .getPreEmitDiagnostics()
        .map((d) => `${d.getSourceFile()?.getBaseName() ?? "?"}:${d.getLineNumber() ?? 0}: ${ts.flattenDiagnosticMessageText(d.compilerObject.messageText, "\n")}`);
    expect(problems().join("\n")).toMatch(/hello-handlers\.ts:\d+: .*sayGoodbye/);

    // 4. Implement it in the capability's handlers: look up the component, call it with
    // atComponent(context, entry.name), catch nothing; and give it its row in failure-texts.ts.
    const text = kernelHandlers.getFullText();
    const sayHelloImpl = "    async sayHello(request, context) {";
    expect(text).toContain(sayHelloImpl);
    kernelHandlers.replaceWithText(
      text.replace(
        sayHelloImpl,
        [
          "    async sayGoodbye(request, context) {",
          "      const entry = hello(request.serviceName);",
          "      const answer = await entry.component.sayHello({ name: \"\" }, atComponent(context, entry.name));",
          "      return { goodbye: `bye from ${answer.hello}` };",
          "    },",
          "",
          sayHelloImpl,
        ].join("\n"),
      ),
    );
    const texts = project.addSourceFileAtPath(join(root, "runtime-kernel", "src", "errors", "failure-texts.ts"));
    const row = "  SayHello: ({ store }, detail) =>";
    expect(texts.getFullText()).toContain(row);
    texts.replaceWithText(texts.getFullText().replace(row, `  SayGoodbye: ({ store }, detail) => \`say goodbye failed in hello service \${store}: \${detail}\`,\n${row}`));
    expect(problems()).toEqual([]);
  }, 240_000);
});
