import { spawn } from "node:child_process";
import { join } from "node:path";
import { loadScenarios, startScenarioRuntime, type ScenarioRuntime } from "./scenario-runtime";

/**
 * The Python SDK's scenario runner (sdks/python/tests/run_scenarios.py), with the
 * sync Client and then the AsyncClient, against a runtime started here; Python
 * is the venv `make sdk-tools` makes in .cache/python/venv. Then its error
 * classification for every declared error (sdks/python/tests/test_errors.py).
 */
const repo = join(__dirname, "..", "..");
const python = join(repo, ".cache", "python", "venv", "bin", "python");

let running: ScenarioRuntime;
beforeAll(async () => {
  running = await startScenarioRuntime();
});
afterAll(() => running?.stop());

function runPython(args: string[], env: Record<string, string>): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(python, args, {
      cwd: repo,
      env: { ...process.env, PYTHONPATH: join(repo, "sdks", "python"), PYTHONDONTWRITEBYTECODE: "1", ...env },
    });
    let output = "";
    child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.once("error", reject);
    child.once("close", (code) => resolve({ code, output }));
  });
}

it("the sync and asyncio clients pass every scenario of the table against the runtime", async () => {
  const { code, output } = await runPython([join(repo, "sdks", "python", "tests", "run_scenarios.py")], { OTTAVO_GRPC_ENDPOINT: running.endpoint });
  const table = loadScenarios();
  expect({ code, output }).toEqual({ code: 0, output: expect.stringContaining(`${table.length * 2} passed, 0 failed`) });
  for (const scenario of table) {
    expect(output).toContain(`PASS sync ${scenario.id}\n`);
    expect(output).toContain(`PASS asyncio ${scenario.id}\n`);
  }
}, 300_000);

it("classifies every declared error of spec/components by the runtime's ErrorInfo (tests/test_errors.py)", async () => {
  const { code, output } = await runPython(["-m", "unittest", "-v", "test_errors"], { PYTHONPATH: `${join(repo, "sdks", "python")}:${join(repo, "sdks", "python", "tests")}` });
  expect({ code, output }).toEqual({ code: 0, output: expect.stringMatching(/Ran 3 tests[\s\S]*\nOK\n/) });
});
