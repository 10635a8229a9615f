import { readdirSync, readFileSync } from "node:fs";
import * as path from "node:path";

/** The parts of a V8 .cpuprofile this reads. */
interface CpuProfile {
  nodes: { id: number; callFrame: { functionName: string; url: string } }[];
  samples: number[];
  timeDeltas: number[];
}

/** Where a sample's time went, by what owns the function it was in. */
function category(url: string, functionName: string): string {
  if (url === "") {
    if (functionName === "(garbage collector)") return "garbage collection";
    if (functionName === "(idle)") return "idle";
    return "V8 and native code";
  }
  if (url.includes("@connectrpc/")) return "Connect-ES";
  if (url.includes("@bufbuild/protobuf")) return "protobuf-es (codec)";
  if (url.includes("/generated/")) return "generated code";
  if (url.includes("/runtime-kernel/dist/server/")) return "kernel: server and fast path";
  if (url.includes("/runtime-kernel/")) return "kernel: handlers and registry";
  if (url.includes("/adapters/") || url.includes("/adapter-kit/") || url.includes("/component-runtime/")) return "adapters";
  if (url.startsWith("node:internal/http2") || url === "node:http2") return "node: http2";
  if (url.startsWith("node:internal/modules") || url.includes("/bootstrap/")) return "node: module loading (start-up)";
  if (url.startsWith("node:internal/streams") || url === "node:stream") return "node: streams";
  if (url.startsWith("node:")) return "node: other internals";
  return "other";
}

/** Self time by category, as shares of the busy time (idle left out), largest first. */
export function summarizeCpuProfile(dir: string): { category: string; share: number }[] {
  const file = readdirSync(dir).find((name) => name.endsWith(".cpuprofile"));
  if (file === undefined) throw new Error(`no .cpuprofile in ${dir}`);
  const profile = JSON.parse(readFileSync(path.join(dir, file), "utf8")) as CpuProfile;
  const nodes = new Map(profile.nodes.map((node) => [node.id, node.callFrame]));
  const totals = new Map<string, number>();
  profile.samples.forEach((id, i) => {
    const frame = nodes.get(id)!;
    const name = category(frame.url, frame.functionName);
    totals.set(name, (totals.get(name) ?? 0) + (profile.timeDeltas[i] ?? 0));
  });
  totals.delete("idle");
  const busy = [...totals.values()].reduce((a, b) => a + b, 0);
  return [...totals].map(([name, time]) => ({ category: name, share: time / busy })).sort((a, b) => b.share - a.share);
}
