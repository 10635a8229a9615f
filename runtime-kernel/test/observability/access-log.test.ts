import { Code, createContextValues } from "@connectrpc/connect";
import { accessLogStep, millisText } from "../../src/observability/access-log";
import { Logger } from "../../src/observability/logger";
import { Pipeline, type CallInfo } from "../../src/server/pipeline";

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

  it("writes milliseconds as JavaScript writes micros / 1000", () => {
    for (let micros = 0; micros < 200_000; micros++) {
      if (millisText(micros) !== String(micros / 1000)) throw new Error(`${micros}: ${millisText(micros)}`);
    }
    for (const micros of [1_000_000, 1_234_567, 999_999_999_999, 1e15, 1e16 + 3, -5, Number.NaN]) {
      expect(millisText(micros)).toBe(String(micros / 1000));
    }
  });
});
