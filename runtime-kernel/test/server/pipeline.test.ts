import { Code, ConnectError, createContextValues } from "@connectrpc/connect";
import { Pipeline, type CallInfo, type CallOutcome, type CallStep } from "../../src/server/pipeline";

const call: CallInfo = {
  service: "spec.proto.runtime.v1.Runtime",
  method: "GetState",
  protocol: "grpc",
  streaming: false,
  header: (name) => (name === "x-token" ? "secret" : undefined),
  values: createContextValues(),
};

/** A step that writes what it sees into a shared log. */
function recording(name: string, log: string[], refuse?: ConnectError): CallStep {
  return {
    name,
    begin(info) {
      log.push(`${name} begin ${info.method} ${info.header("x-token")}`);
      if (refuse) throw refuse;
      return (outcome: CallOutcome) => log.push(`${name} end ${outcome.code === undefined ? "OK" : Code[outcome.code]}`);
    },
  };
}

describe("the pipeline of cross-cutting steps", () => {
  it("begins steps in order and ends them in reverse, once, with the call's outcome", () => {
    const log: string[] = [];
    const pipeline = new Pipeline([recording("a", log), recording("b", log)]);
    const started = pipeline.start(call);
    started.end();
    started.end(new Error("late"));
    expect(log).toEqual(["a begin GetState secret", "b begin GetState secret", "b end OK", "a end OK"]);
  });

  it("ends one step, and three, in reverse with the same outcome", () => {
    const log: string[] = [];
    new Pipeline([recording("a", log)]).start(call).end(new ConnectError("no", Code.NotFound));
    const started = new Pipeline([recording("a", log), recording("b", log), recording("c", log)]).start(call);
    started.end();
    expect(log).toEqual([
      "a begin GetState secret",
      "a end NotFound",
      "a begin GetState secret",
      "b begin GetState secret",
      "c begin GetState secret",
      "c end OK",
      "b end OK",
      "a end OK",
    ]);
  });

  it("maps what a handler threw: a ConnectError keeps its code, anything else is INTERNAL with its text", () => {
    const log: string[] = [];
    const pipeline = new Pipeline([recording("a", log)]);
    const aborted = pipeline.start(call).end(new ConnectError("etag mismatch", Code.Aborted));
    expect(aborted?.code).toBe(Code.Aborted);
    const internal = pipeline.start(call).end(new TypeError("x is undefined"));
    expect(internal).toMatchObject({ code: Code.Internal, rawMessage: "x is undefined" });
    expect(log.filter((l) => l.includes("end"))).toEqual(["a end Aborted", "a end Internal"]);
  });

  it("a step that refuses stops the call: later steps never begin, earlier ones end with the refusal", () => {
    const log: string[] = [];
    const refusal = new ConnectError("missing token", Code.Unauthenticated);
    const pipeline = new Pipeline([recording("metrics", log), recording("auth", log, refusal), recording("late", log)]);
    expect(() => pipeline.start(call)).toThrow(refusal);
    expect(log).toEqual(["metrics begin GetState secret", "auth begin GetState secret", "metrics end Unauthenticated"]);
  });

  it("a step whose end throws does not keep the others from ending", () => {
    const log: string[] = [];
    const broken: CallStep = { name: "broken", begin: () => () => { throw new Error("bookkeeping bug"); } };
    const pipeline = new Pipeline([recording("a", log), broken]);
    expect(() => pipeline.start(call).end()).not.toThrow();
    expect(log).toContain("a end OK");
  });

  it("ends an object a step's begin handed back through its end method, with one duration and the call for every step", () => {
    const outcomes: CallOutcome[] = [];
    const perRpc = { end: (outcome: CallOutcome) => outcomes.push(outcome) };
    const pipeline = new Pipeline([{ name: "object", begin: () => perRpc }, recording("function", [])]);
    pipeline.start(call).end(new ConnectError("gone", Code.NotFound));
    expect(outcomes).toHaveLength(1);
    expect(outcomes[0]).toMatchObject({ code: Code.NotFound, call });
    expect(outcomes[0]!.seconds).toBeGreaterThanOrEqual(0);
  });

  it("without steps it is inactive and only maps errors", () => {
    const pipeline = new Pipeline();
    expect(pipeline.active).toBe(false);
    expect(pipeline.unobserved.end()).toBeUndefined();
    expect(pipeline.unobserved.end("boom")).toMatchObject({ code: Code.Internal, rawMessage: "boom" });
    expect(pipeline.with(recording("a", [])).active).toBe(true);
  });
});
