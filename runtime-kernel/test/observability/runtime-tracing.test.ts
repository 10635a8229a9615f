/**
 * The main thread's tracer and its export: spans recorded as plain records, posted
 * in batches to the export worker (OpenTelemetry's OTLP/HTTP exporter in a worker
 * thread), received by a real OTLP/HTTP receiver. The queue is bounded (drops
 * counted), shutdown flushes, and a worker that fails or ends costs the spans,
 * counted and said once, never the calls.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Worker } from "node:worker_threads";
import { createContextValues, type ContextValues } from "@connectrpc/connect";
import { eventually } from "@ottavo/test-support";
import type { TracingConfig } from "../../src/config/observability-config";
import { RuntimeTracing } from "../../src/observability/runtime-tracing";
import { SpanExportQueue, plainSpanExportCounters } from "../../src/observability/span-export-queue";
import { SpanRecord, spanKind } from "../../src/observability/span-records";
import { traceScopeKey } from "../../src/observability/trace-scope";
import type { CallEnd, CallInfo, CallOutcome } from "../../src/server/pipeline";
import { startOtlpReceiver, type OtlpReceiver } from "../ecosystem/otlp-receiver";

const hour = 3_600_000;
const traceId = "4bf92f3577b34da6a3ce929d0e0e4736";
const callerSpan = "00f067aa0ba902b7";

function config(endpoint: string, sampleRatio = 1, exportIntervalMs = hour): TracingConfig {
  return { endpoint, serviceName: "svc", sampleRatio, exportIntervalMs, headers: {} };
}

/** A unary call as the pipeline shows it; `made` tells whether its context values were asked for. */
function callOf(headers: Record<string, string>, streaming = false): CallInfo & { made: boolean; readonly made_values: ContextValues } {
  const values = createContextValues();
  const call = {
    service: "spec.proto.runtime.v1.Runtime",
    method: "GetState",
    protocol: "grpc" as const,
    streaming,
    header: (name: string) => headers[name],
    made: false,
    made_values: values,
    get values() {
      call.made = true;
      return values;
    },
  };
  return call;
}

function endCall(end: CallEnd | void, call: CallInfo, code?: number): void {
  const outcome = { code, error: undefined, seconds: 0.001, call } as CallOutcome;
  if (typeof end === "function") end(outcome);
  else end?.end(outcome);
}

function record(name: string): SpanRecord {
  const span = new SpanRecord(name, spanKind.internal, traceId, "1111111111111111", undefined, false, undefined, Date.now(), { n: name });
  span.endMs = Date.now();
  return span;
}

let receiver: OtlpReceiver;
const started: { shutdown(): Promise<void> }[] = [];

beforeEach(async () => {
  receiver = await startOtlpReceiver();
});

afterEach(async () => {
  await Promise.all(started.splice(0).map((one) => one.shutdown().catch(() => undefined)));
  await receiver.close();
});

function tracing(tracingConfig: TracingConfig, extra: { warn?: (line: string) => void; workerScript?: string; maxQueueSize?: number } = {}): RuntimeTracing {
  const made = new RuntimeTracing(tracingConfig, { serviceName: "svc", serviceVersion: "1.2.3", warn: extra.warn ?? (() => undefined), ...extra });
  started.push(made);
  return made;
}

describe("the tracing step", () => {
  it("records the rpc's span, child of the caller's, and its component operations' spans, and exports them with the service's resource", async () => {
    const tracer = tracing(config(receiver.endpoint, 1, 20));
    const call = callOf({ traceparent: `00-${traceId}-${callerSpan}-01`, tracestate: "rojo=1" });
    const end = tracer.rpcStep.begin(call);
    const scope = call.made_values.get(traceScopeKey)!;
    expect(scope.traceId).toBe(traceId);
    expect(scope.traceparent).toMatch(new RegExp(`^00-${traceId}-[0-9a-f]{16}-01$`));
    expect(scope.tracestate).toBe("rojo=1");
    scope.component("state", "store", "get").end();
    scope.component("state", "store", "set").end(new Error("backend down"));
    endCall(end, call, 5);
    await eventually(() => expect(receiver.spans).toHaveLength(3));
    const rpc = receiver.spans.find((span) => span.name === "spec.proto.runtime.v1.Runtime/GetState")!;
    expect(rpc).toMatchObject({
      service: "svc",
      traceId,
      parentSpanId: callerSpan,
      spanId: scope.traceparent.slice(36, 52),
      kind: 2,
      statusCode: 2,
      attributes: { "rpc.system": "grpc", "rpc.service": "spec.proto.runtime.v1.Runtime", "rpc.method": "GetState", "ottavo.protocol": "grpc", "rpc.grpc.status_code": 5 },
    });
    expect(receiver.spans.find((span) => span.name === "state.get")).toMatchObject({ parentSpanId: rpc.spanId, kind: 3, statusCode: 0, attributes: { "ottavo.component": "store" } });
    expect(receiver.spans.find((span) => span.name === "state.set")).toMatchObject({ parentSpanId: rpc.spanId, statusCode: 2 });
    await eventually(() => expect(tracer.counters.exported.value).toBe(3));
  });

  it.each([
    ["version ff", `ff-${traceId}-${callerSpan}-01`],
    ["an all-zero trace id", `00-${"0".repeat(32)}-${callerSpan}-01`],
    ["an all-zero span id", `00-${traceId}-${"0".repeat(16)}-01`],
    ["upper-case hex", `00-${traceId.toUpperCase()}-${callerSpan}-01`],
    ["version 00 with more after the flags", `00-${traceId}-${callerSpan}-01-x`],
  ])("ignores a traceparent with %s: the call starts a new trace (or, not sampled, gets nothing)", (_name, traceparent) => {
    const sampledAll = tracing(config(receiver.endpoint, 1));
    const call = callOf({ traceparent });
    endCall(sampledAll.rpcStep.begin(call), call);
    const scope = call.made_values.get(traceScopeKey)!;
    expect(scope.traceId).not.toBe(traceId);
    expect(scope.traceId).toMatch(/^[0-9a-f]{32}$/);
    const sampledNone = tracing(config(receiver.endpoint, 0));
    const other = callOf({ traceparent });
    expect(sampledNone.rpcStep.begin(other)).toBeUndefined();
    expect(other.made).toBe(false);
  });

  it("makes nothing for a unary call that is not sampled: no end, no context values", () => {
    const tracer = tracing(config(receiver.endpoint, 0));
    for (const headers of [{}, { traceparent: `00-${traceId}-${callerSpan}-00` }] as Record<string, string>[]) {
      const call = callOf(headers);
      expect(tracer.rpcStep.begin(call)).toBeUndefined();
      expect(call.made).toBe(false);
    }
    expect(tracer.exports.queued).toBe(0);
  });

  it("gives a stream that is not sampled a scope flagged not sampled, whose delivery spans follow the event's trace", () => {
    const tracer = tracing(config(receiver.endpoint, 0));
    const call = callOf({ traceparent: `00-${traceId}-${callerSpan}-00` }, true);
    expect(tracer.rpcStep.begin(call)).toBeUndefined();
    const scope = call.made_values.get(traceScopeKey)!;
    expect(scope.traceparent).toMatch(new RegExp(`^00-${traceId}-[0-9a-f]{16}-00$`));
    const delivery = scope.delivery("events", "orders", { traceparent: `00-${traceId}-${callerSpan}-01` });
    expect(delivery.context.traceparent).toMatch(new RegExp(`^00-${traceId}-[0-9a-f]{16}-01$`));
    delivery.end();
    expect(tracer.exports.queued).toBe(1);
  });
});

describe("the export queue", () => {
  it("holds spans until the export interval (or a full batch), and shutdown sends what it holds", async () => {
    const counters = plainSpanExportCounters();
    const queue = new SpanExportQueue({ ...exportTo(receiver.endpoint), exportIntervalMs: hour, counters, warn: () => undefined });
    started.push(queue);
    queue.add(record("a"));
    queue.add(record("b"));
    queue.add(record("c"));
    // The sentinel: nothing is sent before the hour is up or the batch is full.
    expect(receiver.requests).toBe(0);
    await queue.shutdown();
    expect(receiver.spans.map((span) => span.name).sort()).toEqual(["a", "b", "c"]);
    expect(counters.exported.value).toBe(3);
    queue.add(record("late"));
    expect(counters.dropped.exporter_down.value).toBe(1);
  });

  it("drops and counts spans that find the queue full while a batch is being exported", async () => {
    const counters = plainSpanExportCounters();
    const queue = new SpanExportQueue({ ...exportTo(receiver.endpoint), exportIntervalMs: hour, counters, warn: () => undefined, maxQueueSize: 4 });
    started.push(queue);
    // 4 make a full batch, posted at once; the next 4 wait for it; 2 find the queue full.
    for (let i = 0; i < 10; i++) queue.add(record(`s${i}`));
    expect(counters.dropped.queue_full.value).toBe(2);
    expect(queue.queued).toBe(4);
    await queue.shutdown();
    expect(receiver.spans.map((span) => span.name).sort()).toEqual(["s0", "s1", "s2", "s3", "s4", "s5", "s6", "s7"]);
    expect(counters.exported.value).toBe(8);
  });

  it("counts spans the endpoint does not take, and says so once", async () => {
    const closed = await startOtlpReceiver();
    await closed.close();
    const counters = plainSpanExportCounters();
    const warnings: string[] = [];
    const queue = new SpanExportQueue({ ...exportTo(closed.endpoint, 500), exportIntervalMs: hour, counters, warn: (line) => warnings.push(line) });
    started.push(queue);
    queue.add(record("a"));
    await queue.flush();
    queue.add(record("b"));
    queue.add(record("c"));
    await queue.flush();
    expect(counters.dropped.export_failed.value).toBe(3);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain(`could not be exported to ${closed.endpoint}`);
  });

  describe.each([
    ["throws", "parentPort.on('message', () => { throw new Error('the worker broke'); });", "the worker broke"],
    ["ends by itself", "parentPort.on('message', () => process.exit(7));", "exit code 7"],
  ])("when the export worker %s", (_name, body, reason) => {
    const workerScript = fakeExportWorker(body);

    it("drops and counts the spans, says so once, and the calls are served as before", async () => {
      const warnings: string[] = [];
      const tracer = tracing(config(receiver.endpoint, 1), { warn: (line) => warnings.push(line), workerScript: workerScript() });
      const traceOne = () => {
        const call = callOf({ traceparent: `00-${traceId}-${callerSpan}-01` });
        const end = tracer.rpcStep.begin(call);
        const scope = call.made_values.get(traceScopeKey)!;
        scope.component("state", "store", "get").end();
        endCall(end, call);
        return scope.traceparent;
      };
      traceOne();
      await tracer.exports.flush();
      expect(tracer.counters.workerFailures.value).toBe(1);
      expect(tracer.counters.dropped.exporter_down.value).toBe(2);
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toContain(reason);
      expect(warnings[0]).toContain("calls are served as before");
      // Later calls: traced and propagated as before, their spans dropped and counted, nothing said again.
      expect(traceOne()).toMatch(new RegExp(`^00-${traceId}-[0-9a-f]{16}-01$`));
      await tracer.exports.flush();
      expect(tracer.counters.dropped.exporter_down.value).toBe(4);
      expect(tracer.counters.workerFailures.value).toBe(1);
      expect(warnings).toHaveLength(1);
      await expect(tracer.shutdown()).rejects.toThrow("failed");
      expect(receiver.requests).toBe(0);
    });
  });

  describe.each([
    ["leaves every request unanswered", "parentPort.on('message', () => undefined);", { flushed: 0, lostAtFlush: 1 }],
    [
      "answers exports but never the shutdown",
      "parentPort.on('message', (m) => { if (m.kind === 'export') parentPort.postMessage({ id: m.id, ok: true }); });",
      { flushed: 1, lostAtFlush: 0 },
    ],
  ])("when the export worker %s", (_name, body, expected) => {
    const workerScript = fakeExportWorker(body);

    it("takes it for failed after the answer timeout: ended, counted, said once; a shutdown does not wait longer", async () => {
      const counters = plainSpanExportCounters();
      const warnings: string[] = [];
      const queue = new SpanExportQueue({
        ...exportTo(receiver.endpoint),
        exportIntervalMs: hour,
        counters,
        warn: (line) => warnings.push(line),
        workerScript: workerScript(),
        answerTimeoutMs: 300,
      });
      started.push(queue);
      queue.add(record("a"));
      await queue.flush();
      expect([counters.exported.value, counters.dropped.exporter_down.value]).toEqual([expected.flushed, expected.lostAtFlush]);
      await expect(queue.shutdown()).rejects.toThrow("answered nothing for 300 ms");
      expect(counters.workerFailures.value).toBe(1);
      // Said once, while serving; a stall during the shutdown is the shutdown's error instead.
      expect(warnings).toHaveLength(expected.lostAtFlush);
      if (warnings.length > 0) expect(warnings[0]).toContain("answered nothing for 300 ms");
      queue.add(record("late"));
      expect(counters.dropped.exporter_down.value).toBe(expected.lostAtFlush + 1);
    });
  });

  it("the export worker answers a request it does not know (a main thread of another build) instead of leaving it waiting", async () => {
    const worker = new Worker(join(__dirname, "..", "..", "dist", "observability", "span-export-worker.js"), { workerData: exportTo(receiver.endpoint).settings });
    try {
      const answer = new Promise((resolve) => worker.once("message", resolve));
      worker.postMessage({ kind: "spans", id: 7, spans: [] });
      expect(await answer).toEqual({ id: 7, ok: false, error: "unknown request spans" });
    } finally {
      await worker.terminate();
    }
  });

  it("never keeps the process alive: a process that exported spans and never shut tracing down ends by itself", async () => {
    const dist = join(__dirname, "..", "..", "dist", "observability");
    const script = `
      const { SpanExportQueue, plainSpanExportCounters } = require(${JSON.stringify(join(dist, "span-export-queue.js"))});
      const { SpanRecord } = require(${JSON.stringify(join(dist, "span-records.js"))});
      const counters = plainSpanExportCounters();
      const queue = new SpanExportQueue({ ...${JSON.stringify(exportTo(receiver.endpoint))}, exportIntervalMs: 3600000, counters, warn: console.error });
      const span = new SpanRecord("child", 0, "${traceId}", "1111111111111111", undefined, false, undefined, Date.now(), {});
      span.endMs = Date.now();
      queue.add(span);
      // Held open only until the export was answered; then nothing but the worker is left.
      const hold = setInterval(() => undefined, 1000);
      queue.flush().then(() => { clearInterval(hold); console.log("exported " + counters.exported.value); });
    `;
    const child = spawn(process.execPath, ["-e", script], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout.on("data", (chunk: Buffer) => (out += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (out += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => child.on("exit", resolve));
    expect([code, out.trim()]).toEqual([0, "exported 1"]);
    expect(receiver.spans.map((span) => span.name)).toEqual(["child"]);
  }, 30_000);
});

/**
 * An export worker script whose message handling is `body` (it has parentPort),
 * written for each test of the describe block it is called in and removed after;
 * the answer gives the current test's script path.
 */
function fakeExportWorker(body: string): () => string {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "ottavo-worker-"));
    writeFileSync(join(dir, "worker.js"), `const { parentPort } = require("node:worker_threads");\n${body}\n`);
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));
  return () => join(dir, "worker.js");
}

/** The export queue's endpoint (and the exporter's timeout), resource and scope. */
function exportTo(url: string, timeoutMillis?: number) {
  return {
    settings: { url, headers: {}, ...(timeoutMillis !== undefined ? { timeoutMillis } : {}) },
    resource: { "service.name": "svc", "service.version": "1.2.3" },
    scope: { name: "ottavo", version: "1.2.3" },
  };
}
