/**
 * Message codecs, measured by hand (not part of `make bench`): protobuf-es's
 * reflection codec (fromBinary, toBinary(create(...))) against the specialized
 * codecs `make gen` emits into generated/codecs, on the hot messages of the
 * Runtime API. Prints CPU ns/op (process CPU time, so that a busy machine
 * inflates the figures less) and bytes allocated per op for each.
 *
 *   npx tsc -b bench && node bench/dist/codec-bench.js
 *
 * Settings (environment): CODEC_BENCH_MS per measurement (400), CODEC_BENCH_ROUNDS (3; the
 * median is printed). It re-runs itself under --expose-gc and a large young
 * generation, so that allocation is counted between two collections.
 */
import { spawnSync } from "node:child_process";
import { performance } from "node:perf_hooks";
import { create, fromBinary, toBinary, type DescMessage, type MessageInitShape } from "@bufbuild/protobuf";
import { AnySchema } from "@bufbuild/protobuf/wkt";
import { codecFor } from "@ottavo/generated/codecs/index";
import * as pb from "@ottavo/generated/spec/proto/runtime/v1/runtime_pb";

// a young generation fixed at 64 MB: no collection runs while one measurement allocates
const reexecFlags = ["--expose-gc", "--min-semi-space-size=64", "--max-semi-space-size=64"];
const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) {
  const child = spawnSync(process.execPath, [...reexecFlags, ...process.argv.slice(1)], { stdio: "inherit" });
  process.exit(child.status ?? 1);
}

const budgetMs = Number(process.env.CODEC_BENCH_MS ?? 400);
const rounds = Number(process.env.CODEC_BENCH_ROUNDS ?? 3);

const bytes = (n: number) => Uint8Array.from({ length: n }, (_, i) => (i * 31) & 0xff);
const any = (n: number) => create(AnySchema, { typeUrl: "type.googleapis.com/app.Payload", value: bytes(n) });

interface Sample<Desc extends DescMessage> {
  schema: Desc;
  init: MessageInitShape<Desc>;
}
const sample = <Desc extends DescMessage>(schema: Desc, init: MessageInitShape<Desc>): Sample<Desc> => ({ schema, init });

/** The hot messages, filled as the layotto SDK and the runtime fill them. */
const samples = [
  sample(pb.GetStateRequestSchema, { storeName: "state_demo", key: "greeting-000123" }),
  sample(pb.GetStateResponseSchema, { data: bytes(100), etag: "17" }),
  sample(pb.SaveStateRequestSchema, {
    storeName: "state_demo",
    states: [{ key: "greeting-000123", value: bytes(100), etag: { value: "16" }, metadata: { ttlInSeconds: "60" }, options: { concurrency: 1, consistency: 2 } }],
  }),
  sample(pb.SayHelloRequestSchema, { serviceName: "quick_start_demo", name: "ottavo" }),
  sample(pb.SayHelloResponseSchema, { hello: "greetings, ottavo" }),
  sample(pb.GetNextIdRequestSchema, { storeName: "sequencer_demo", key: "orders", options: { increment: 1 } }),
  sample(pb.GetNextIdResponseSchema, { nextId: "1234567" }),
  sample(pb.TryLockRequestSchema, { storeName: "lock_demo", resourceId: "resource-42", lockOwner: "owner-7f3a", expire: 10 }),
  sample(pb.TryLockResponseSchema, { success: true }),
  sample(pb.PublishEventRequestSchema, { pubsubName: "pub_subs_demo", topic: "orders", data: bytes(200), dataContentType: "application/json", metadata: { region: "eu" } }),
  sample(pb.InvokeServiceRequestSchema, {
    id: "app-1",
    message: { method: "hello", data: any(64), contentType: "application/json", httpExtension: { verb: 2, querystring: "a=1&b=2" } },
  }),
  sample(pb.InvokeResponseSchema, { data: any(64), contentType: "application/json" }),
];

interface Figures {
  nsPerOp: number;
  bytesPerOp: number;
}

let sink: unknown;

/** This process's CPU time in ms: on a shared machine, unlike wall time, it does not count waiting for a core. */
function cpuMs(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
}

/** CPU ns/op over a time budget, and bytes allocated per op over a run short enough to fit the young generation. */
function measure(op: () => unknown): Figures {
  const warm = performance.now() + budgetMs / 4;
  while (performance.now() < warm) for (let i = 0; i < 100; i++) sink = op();
  const times: number[] = [];
  for (let r = 0; r < rounds; r++) {
    let n = 0;
    const start = cpuMs();
    const end = start + budgetMs;
    let now = start;
    while (now < end) {
      for (let i = 0; i < 500; i++) sink = op();
      n += 500;
      now = cpuMs();
    }
    times.push(((now - start) * 1e6) / n);
  }
  const allocs: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const ops = 5000;
    gc!();
    const before = process.memoryUsage();
    for (let i = 0; i < ops; i++) sink = op();
    const after = process.memoryUsage();
    allocs.push((after.heapUsed - before.heapUsed + after.arrayBuffers - before.arrayBuffers) / ops);
  }
  return { nsPerOp: median(times), bytesPerOp: median(allocs) };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

function row(cells: (string | number)[]): string {
  return `| ${cells.join(" | ")} |`;
}

const lines: string[] = [
  row(["message", "op", "protobuf-es ns/op", "codec ns/op", "speed-up", "protobuf-es B/op", "codec B/op"]),
  row(["---", "---", "--:", "--:", "--:", "--:", "--:"]),
];
for (const { schema, init } of samples) {
  const codec = codecFor(schema);
  if (codec === undefined) throw new Error(`no codec for ${schema.typeName}`);
  const wire = toBinary(schema, create(schema, init));
  const ops: [string, () => unknown, () => unknown][] = [
    ["decode", () => fromBinary(schema, wire), () => codec.decode(wire)],
    ["encode", () => toBinary(schema, create(schema, init)), () => codec.encode(init)],
  ];
  for (const [op, es, specialized] of ops) {
    const a = measure(es);
    const b = measure(specialized);
    lines.push(
      row([schema.name, op, a.nsPerOp.toFixed(0), b.nsPerOp.toFixed(0), `${(a.nsPerOp / b.nsPerOp).toFixed(1)}x`, a.bytesPerOp.toFixed(0), b.bytesPerOp.toFixed(0)]),
    );
  }
  process.stderr.write(".");
}
process.stderr.write("\n");
console.log(`Node ${process.version}, ${budgetMs} ms of CPU x ${rounds} rounds per figure (medians); ${wire()}`);
console.log(lines.join("\n"));
void sink;

function wire(): string {
  return "wire sizes: " + samples.map(({ schema, init }) => `${schema.name} ${toBinary(schema, create(schema, init)).length} B`).join(", ");
}
