import { execFileSync } from "node:child_process";
import * as path from "node:path";

/**
 * The optimiser hold of the command's start (src/boot-optimizer.ts), in a node of
 * its own: a function called often enough to be optimised is not while the hold is
 * on, and is once it is released, which is what the command relies on (V8 reading
 * --opt again after start). An operator's own --no-opt is never undone.
 */
const built = path.resolve(__dirname, "..", "..", "dist", "boot-optimizer.js");

/** Runs the same hot loop before and after the release; V8's status bit 4 is "optimised". */
const script = `
const { holdOptimizer, releaseOptimizer } = require(${JSON.stringify(built)});
function hot(text) { let sum = 0; for (let i = 0; i < text.length; i++) sum += text.charCodeAt(i); return sum; }
const run = () => { for (let i = 0; i < 200000; i++) hot("abcdefghijklmnopqrstuvwxyz"); return (%GetOptimizationStatus(hot) & 16) !== 0; };
holdOptimizer();
const held = run();
releaseOptimizer();
process.stdout.write(JSON.stringify({ held, released: run() }));
`;

/** Compiles synchronously, so "optimised" is settled when the loop ends. */
function statuses(nodeArgs: string[]): { held: boolean; released: boolean } {
  const out = execFileSync(process.execPath, ["--allow-natives-syntax", "--no-concurrent-recompilation", ...nodeArgs, "-e", script], { encoding: "utf8" });
  return JSON.parse(out) as { held: boolean; released: boolean };
}

describe("holding V8's optimiser during start", () => {
  it("keeps a hot function unoptimised while held and optimises it once released", () => {
    expect(statuses([])).toEqual({ held: false, released: true });
  });

  it("leaves an operator's --no-opt in force", () => {
    expect(statuses(["--no-opt"])).toEqual({ held: false, released: false });
  });
});
