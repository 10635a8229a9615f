import { Code, createContextValues } from "@connectrpc/connect";
import { accessLogStep, millisText } from "../../src/observability/access-log";
import { Logger } from "../../src/observability/logger";
import { traceScopeKey, type TraceScope } from "../../src/observability/trace-scope";
import { Pipeline, type CallInfo, type CallOutcome } from "../../src/server/pipeline";

const call: CallInfo = {
  service: "spec.proto.runtime.v1.Runtime",
  method: "GetState",
  protocol: "grpc",
  streaming: false,
  header: () => undefined,
  values: createContextValues(),
};

describe("the access log step", () => {
  it("writes a JSON record's members per call: rpc, protocol, code name, duration in ms", () => {
    const members: string[] = [];
    const step = accessLogStep({ info: () => undefined, writesJson: () => true, infoMembers: (m) => members.push(m) }, false);
    const pipeline = new Pipeline([step]);
    pipeline.start(call).end();
    pipeline.start(call).end(Object.assign(new Error("etag"), { code: Code.Aborted }));
    expect(members).toHaveLength(2);
    for (const m of members) {
      const record = JSON.parse(`{${m}}`) as Record<string, unknown>;
      expect(record).toMatchObject({ msg: "access", kind: "access", rpc: "spec.proto.runtime.v1.Runtime/GetState", protocol: "grpc" });
      expect(typeof record.durationMs).toBe("number");
      expect(record.durationMs as number).toBeGreaterThanOrEqual(0);
    }
    expect(JSON.parse(`{${members[0]}}`).code).toBe("OK");
  });

  it("writes a text line with the same fields when the log is text", () => {
    const lines: string[] = [];
    const step = accessLogStep({ info: (line) => lines.push(line), writesJson: () => false, infoMembers: () => undefined }, false);
    new Pipeline([step]).start(call).end();
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^ottavo: access spec\.proto\.runtime\.v1\.Runtime\/GetState grpc OK \d+(\.\d{1,3})? ms$/);
  });

  it("hands a text line to infoText, which lets it wait to be written with others, when the log has one", () => {
    const later: string[] = [];
    const now: string[] = [];
    const log = new Logger({ stdout: (line) => now.push(line), stdoutLater: (line) => later.push(line), stderr: () => undefined });
    new Pipeline([accessLogStep(log, false)]).start(call).end();
    expect(now).toEqual([]);
    expect(later).toHaveLength(1);
    expect(later[0]).toMatch(/^ottavo: access spec\.proto\.runtime\.v1\.Runtime\/GetState grpc OK \d+(\.\d{1,3})? ms$/);
    log.info("ottavo: other lines are written at the end of their turn");
    expect(now).toEqual(["ottavo: other lines are written at the end of their turn"]);
  });

  it("writes the same JSON line in place, as bytes, as from its members as a string; and counts what the output drops", () => {
    const inPlace: Buffer[] = [];
    let buffer = Buffer.alloc(0);
    let dropping = false;
    const bytes = new Logger(
      {
        stdout: () => undefined,
        stderr: () => undefined,
        reserveLater: (size) => (dropping ? undefined : { buffer: (buffer = Buffer.alloc(size)), at: 0 }),
        commitLater: (end) => inPlace.push(buffer.subarray(0, end)),
        droppedLines: () => 3,
      },
      { level: "info", format: "json" },
    );
    const strings: string[] = [];
    const text = new Logger({ stdout: (line) => strings.push(line), stderr: () => undefined }, { level: "info", format: "json" });
    const tracedCall: CallInfo = { ...call, service: "spec.proto.runtime.v1.Runtimé", protocol: "grpc-web" };
    const durations = [0, 1, 9, 10, 99, 100, 999, 1000, 1001, 1010, 1100, 12_345, 999_999, 1_000_000, 3_600_000_007, 1e15 - 1];
    for (const [log, sink] of [
      [bytes, "bytes"],
      [text, "text"],
    ] as const) {
      const step = accessLogStep(log, true);
      const begin = (info: CallInfo) => step.begin(info) as { end(outcome: CallOutcome): void };
      for (const micros of durations) {
        const values = createContextValues().set(traceScopeKey, { traceId: "4bf92f3577b34da6a3ce929d0e0e4736" } as TraceScope);
        const endedAt = performance.now();
        begin(call).end({ code: undefined, error: undefined, seconds: micros / 1_000_000, endedAt, call: { ...call, values: createContextValues() } });
        begin(tracedCall).end({ code: Code.ResourceExhausted, error: undefined, seconds: micros / 1_000_000, endedAt, call: { ...tracedCall, values } });
      }
      expect(sink === "bytes" ? inPlace.length : strings.length).toBe(durations.length * 2);
    }
    const lines = inPlace.map((line) => line.toString("utf8"));
    expect(lines.filter((line) => !line.endsWith("}\n"))).toEqual([]);
    // The time may differ by a millisecond between the two loggers: compare the rest.
    const untimed = (line: string) => line.replace(/^\{"time":"[^"]+"/, "");
    expect(lines.map((line) => untimed(line.slice(0, -1)))).toEqual(strings.map(untimed));
    expect(lines.map((line) => (JSON.parse(line) as { durationMs: number }).durationMs)).toEqual(durations.flatMap((micros) => [micros / 1000, micros / 1000]));
    // The record's time is the call's end (on the pipeline's clock) as the wall clock's time: within a second of now.
    const times = lines.map((line) => Date.parse((JSON.parse(line) as { time: string }).time));
    expect(times.filter((time) => !(Math.abs(time - Date.now()) < 1000))).toEqual([]);
    dropping = true;
    new Pipeline([accessLogStep(bytes, false)]).start(call).end();
    expect(inPlace).toHaveLength(durations.length * 2);
    expect(bytes.droppedLines()).toBe(3);
  });

  it("writes milliseconds as JavaScript writes micros / 1000", () => {
    for (let micros = 0; micros < 200_000; micros++) {
      if (millisText(micros) !== String(micros / 1000)) throw new Error(`${micros}: ${millisText(micros)}`);
    }
    for (const micros of [1_000_000, 1_234_567, 999_999_999_999, 1e15, 1e16 + 3, -5, Number.NaN]) {
      expect(millisText(micros)).toBe(String(micros / 1000));
    }
  });
});
