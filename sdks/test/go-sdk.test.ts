import { spawn } from "node:child_process";
import { join } from "node:path";
import { loadScenarios, startScenarioRuntime, type ScenarioRuntime } from "./scenario-runtime";

/**
 * The Go SDK's scenario runner (sdks/go/scenarios_test.go) against a runtime
 * started here: `go test` with OTTAVO_GRPC_ENDPOINT, every scenario of the table
 * passing; and its error classification for every declared error (classify_test.go).
 */
const goModule = join(__dirname, "..", "go");

let running: ScenarioRuntime;
beforeAll(async () => {
  running = await startScenarioRuntime();
});
afterAll(() => running?.stop());

function goTest(env: Record<string, string>): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn("go", ["test", "-count=1", "-v", "-run", "TestScenarios|TestClassify", "./..."], { cwd: goModule, env: { ...process.env, ...env } });
    let output = "";
    child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.once("error", reject);
    child.once("close", (code) => resolve({ code, output }));
  });
}

it("go test passes every scenario of the table against the runtime", async () => {
  const { code, output } = await goTest({ OTTAVO_GRPC_ENDPOINT: running.endpoint });
  expect({ code, output }).toEqual({ code: 0, output: expect.stringContaining("--- PASS: TestScenarios") });
  expect(output).toContain("--- PASS: TestClassifyNamesEveryDeclaredError");
  expect(output).toContain("--- PASS: TestClassifyFallsBackToTheStatus");
  for (const scenario of loadScenarios()) expect(output).toContain(`--- PASS: TestScenarios/${scenario.id} `);
}, 300_000);
