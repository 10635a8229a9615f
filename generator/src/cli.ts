#!/usr/bin/env node
import { resolve } from "node:path";
import { generateFromRoot } from "./generate";
import { diffOutput, isClean, writeOutput, type OutputDiff } from "./output/write-output";
import { AggregateSpecError } from "./idl";
import { SpecError } from "./spec-error";
import { formatSpecDiff, runSpecDiff, summarizeSpecDiff } from "./spec-diff/spec-diff";

const usage = `usage: ottavo-gen <command> [--root DIR]

commands:
  gen        compile spec/ into generated/ and docs/api/
  check      fail if generated/ or docs/api/ differ from what spec/ generates
  spec-diff  compare spec/proto with the protos of the published layotto package`;

/** Runs one command; returns the exit code. Errors in the spec are printed as file:line:col lines. */
export function main(argv: string[]): number {
  try {
    return runCommand(argv);
  } catch (err) {
    for (const line of errorLines(err)) console.error(line);
    return 1;
  }
}

function runCommand(argv: string[]): number {
  const [command, ...rest] = argv;
  const rootFlag = rest.indexOf("--root");
  const root = resolve(rootFlag >= 0 ? rest[rootFlag + 1] ?? "." : ".");
  const started = process.hrtime.bigint();
  switch (command) {
    case "gen": {
      const files = generateFromRoot(root);
      const diff = writeOutput(root, files);
      const written = diff.changed.length + diff.missing.length;
      console.log(`make gen: ${files.length} files, ${written} written, ${diff.stale.length} removed (${elapsed(started)})`);
      return 0;
    }
    case "check": {
      const diff = diffOutput(root, generateFromRoot(root));
      if (isClean(diff)) {
        console.log(`make gen-check: generated output is up to date (${elapsed(started)})`);
        return 0;
      }
      console.error(describeStale(diff));
      return 1;
    }
    case "spec-diff": {
      const report = runSpecDiff(root);
      console.log(formatSpecDiff(report));
      console.log(`make spec-diff: ${summarizeSpecDiff(report)} (${elapsed(started)})`);
      return report.mismatches.length > 0 ? 1 : 0;
    }
    default:
      console.error(usage);
      return 2;
  }
}

function describeStale(diff: OutputDiff): string {
  const lines = ["make gen-check: generated output does not match spec/; run `make gen` and commit the result."];
  for (const path of diff.changed) lines.push(`  differs:    ${path}`);
  for (const path of diff.missing) lines.push(`  missing:    ${path}`);
  for (const path of diff.stale) lines.push(`  not in spec: ${path}`);
  return lines.join("\n");
}

function elapsed(started: bigint): string {
  return `${Number((process.hrtime.bigint() - started) / 1_000_000n)} ms`;
}

function errorLines(err: unknown): string[] {
  if (err instanceof AggregateSpecError) return err.errors.map((e) => e.message);
  if (err instanceof SpecError) return [err.message];
  return [err instanceof Error ? err.message : String(err)];
}

if (require.main === module) process.exitCode = main(process.argv.slice(2));
