import { readFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { loadProtos, loadSpecProtos, type ProtoSpec } from "../load/protos";
import { compareShapes, type SpecDiff } from "./compare";
import { shapeOf } from "./descriptor-shape";

/** The comparison of spec/proto with the protos of the installed layotto package. */
export interface SpecDiffReport extends SpecDiff {
  /** `layotto@1.18.0` */
  readonly upstream: string;
  /** The upstream proto directory, relative to the repository root when inside it. */
  readonly upstreamDir: string;
}

/** The layotto package the repository installed, found from the repository root. */
export function locateLayottoProtos(root: string): { readonly dir: string; readonly version: string } {
  let manifest: string;
  try {
    manifest = require.resolve("layotto/package.json", { paths: [root] });
  } catch {
    throw new Error(`spec-diff needs the layotto package (a devDependency) under ${root}/node_modules; run \`make install\``);
  }
  const { version } = JSON.parse(readFileSync(manifest, "utf8")) as { version: string };
  return { dir: join(dirname(manifest), "proto"), version };
}

/**
 * Compiles a bare directory of protos (no buf.yaml of its own) in place. buf reads
 * every .proto below it; the google/protobuf imports it resolves are left out.
 */
export function loadProtoDirectory(dir: string): ProtoSpec {
  return loadProtos({ cwd: dir, dir, config: '{"version":"v2"}' }, (name) => !name.startsWith("google/protobuf/"));
}

export function diffProtoSpecs(upstream: ProtoSpec, ours: ProtoSpec): SpecDiff {
  return compareShapes(shapeOf(upstream.files), shapeOf(ours.files));
}

/** Compares the repository's spec/proto (its buf workspace) with the installed layotto protos. */
export function runSpecDiff(root: string): SpecDiffReport {
  const layotto = locateLayottoProtos(root);
  const diff = diffProtoSpecs(loadProtoDirectory(layotto.dir), loadSpecProtos(root));
  const rel = relative(root, layotto.dir);
  return {
    ...diff,
    upstream: `layotto@${layotto.version}`,
    upstreamDir: rel.startsWith("..") ? layotto.dir : rel,
  };
}

/** The report: a header, information (additions, packages not compared), then mismatches. */
export function formatSpecDiff(report: SpecDiffReport): string {
  const lines = [`spec-diff: spec/proto against ${report.upstream} (${report.upstreamDir})`];
  const information = [...report.additions, ...report.notCompared];
  if (information.length > 0) {
    lines.push("information (compatible, not failures):");
    for (const line of information) lines.push(`  ${line}`);
  }
  if (report.mismatches.length > 0) {
    lines.push("mismatches (spec/proto must match upstream on the wire; fix spec/proto):");
    for (const line of report.mismatches) lines.push(`  ${line}`);
  }
  return lines.join("\n");
}

/** One line for the end of the report: `no mismatches with layotto@1.18.0 (6 additions, 5 packages not compared)`. */
export function summarizeSpecDiff(report: SpecDiffReport): string {
  const counts = `${plural(report.additions.length, "addition")}, ${plural(report.notCompared.length, "package")} not compared`;
  return report.mismatches.length === 0
    ? `no mismatches with ${report.upstream} (${counts})`
    : `${plural(report.mismatches.length, "mismatch", "mismatches")} with ${report.upstream} (${counts})`;
}

function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}
