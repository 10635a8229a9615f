/**
 * The fast path's handler context: its signal is made on first use, and one made
 * after the abort is aborted too; response headers appended without a Headers
 * object reach the answer and the Headers object alike; components receive it as
 * their call context.
 */
import { Code, ConnectError } from "@connectrpc/connect";
import { Runtime } from "@ottavo/generated/spec/proto/runtime/v1/runtime_pb";
import { UnaryCallContext } from "../../src/server/grpc/unary-call-context";
import { CallValues } from "../../src/server/call-values";
import { atComponent, callContext } from "../../src/handlers/call-context";
import { failureSubjectKey } from "../../src/errors/failure-texts";
import { traceScopeAmong, traceScopeKey, type TraceScope } from "../../src/observability/trace-scope";

const context = () => new UnaryCallContext(Runtime.method.invokeService, { ":path": "/x" }, undefined);

describe("UnaryCallContext's abort", () => {
  it("aborts a signal asked for after the abort, with the abort's reason, and tells whenAborted's listeners once", () => {
    const call = context();
    const heard: string[] = [];
    call.whenAborted(() => heard.push("listener"));
    const reason = new ConnectError("the caller went away", Code.Canceled);
    call.abort(reason);
    call.abort(new Error("a second abort is ignored"));
    expect(heard).toEqual(["listener"]);
    expect([call.signal.aborted, call.signal.reason]).toEqual([true, reason]);
    expect(call.whenAborted(() => heard.push("late"))).toBeUndefined();
  });

  it("aborts a signal made before the abort, and stops telling a listener whose watch was stopped", () => {
    const call = context();
    const { signal } = call;
    const heard: string[] = [];
    const stop = call.whenAborted(() => heard.push("stopped"));
    call.whenAborted(() => heard.push("kept"));
    stop!();
    call.abort("done");
    expect([signal.aborted, signal.reason, heard]).toEqual([true, "done", ["kept"]]);
  });
  it("runs whenAborted's listeners in the order they were added; a stopped one, the only one or one of several, is not run", () => {
    const heard: string[] = [];
    const alone = context();
    alone.whenAborted(() => heard.push("alone, stopped"))!();
    alone.abort("done");
    const several = context();
    const stopFirst = several.whenAborted(() => heard.push("first"));
    several.whenAborted(() => heard.push("second"));
    stopFirst!();
    several.whenAborted(() => heard.push("third"));
    several.whenAborted(() => heard.push("fourth"));
    several.abort("done");
    const one = context();
    one.whenAborted(() => heard.push("only"));
    one.abort("done");
    expect(heard).toEqual(["second", "third", "fourth", "only"]);
  });

  it("aborted without a reason, the call completed: a signal asked for before or after has the completed reason (Canceled)", () => {
    const before = context();
    const { signal } = before;
    const heard: string[] = [];
    before.whenAborted(() => heard.push("listener"));
    before.abort();
    const after = context();
    after.abort();
    for (const aborted of [signal, after.signal]) {
      expect(aborted.aborted).toBe(true);
      expect(aborted.reason).toBeInstanceOf(ConnectError);
      expect([(aborted.reason as ConnectError).code, (aborted.reason as ConnectError).rawMessage]).toEqual([Code.Canceled, "the call completed"]);
    }
    expect(heard).toEqual(["listener"]);
  });
});

describe("UnaryCallContext's response headers", () => {
  it("answers headers appended without a Headers object, joined per name, and folds them into responseHeader when asked", () => {
    const call = context();
    expect(call.setResponseMetadata).toBe(false);
    call.appendResponseHeader("x-a", "1");
    call.appendResponseHeader("x-a", "2");
    call.appendResponseHeader("dapr-http-status", "200");
    expect(call.setResponseMetadata).toBe(true);
    expect(call.extraHeaders()).toEqual({ "x-a": "1, 2", "dapr-http-status": "200" });
    call.responseHeader.set("x-b", "3");
    call.appendResponseHeader("x-a", "4");
    expect(call.extraHeaders()).toEqual({ "x-a": "1, 2, 4", "dapr-http-status": "200", "x-b": "3" });
  });
});

describe("UnaryCallContext as the components' context", () => {
  it("is handed to components as it is, with its deadline in Date.now() milliseconds, and records the failure subject", () => {
    const timeoutMs = 60_000;
    const call = new UnaryCallContext(Runtime.method.getState, { ":path": "/x" }, performance.now() + timeoutMs);
    const before = Date.now();
    const component = atComponent(call, "state_demo", "k");
    expect(component).toBe(call);
    expect(callContext(call)).toBe(call);
    const deadline = component.deadline!;
    expect(deadline).toBeGreaterThan(before);
    expect(deadline).toBeLessThanOrEqual(Date.now() + timeoutMs);
    expect(call.recordedValues()?.get(failureSubjectKey)).toEqual({ rpc: "GetState", store: "state_demo", item: "k" });
    expect(context().deadline).toBeUndefined();
  });

  it("keeps the last failure subject recorded before the context values were made, and records straight into values made already", () => {
    const call = new UnaryCallContext(Runtime.method.getState, { ":path": "/x" }, undefined);
    atComponent(call, "first", "a");
    atComponent(call, "state_demo", "b");
    expect(call.values.get(failureSubjectKey)).toEqual({ rpc: "GetState", store: "state_demo", item: "b" });
    atComponent(call, "other_store");
    expect(call.recordedValues()?.get(failureSubjectKey)).toEqual({ rpc: "GetState", store: "other_store", item: undefined });
  });

  it("gives a component operation the call's trace scope, and none (without making context values, even after a failure subject) when the tracing step set none", () => {
    const scope = { sentinel: "the call's scope" } as unknown as TraceScope;
    const traced = new UnaryCallContext(Runtime.method.getState, { ":path": "/x" }, undefined, new CallValues().set(traceScopeKey, scope));
    expect(traceScopeAmong([{ key: "k" }, callContext(traced)])).toBe(scope);
    const untraced = context();
    expect(traceScopeAmong([callContext(untraced)])).toBeUndefined();
    expect(untraced.recordedValues()).toBeUndefined();
    // As every component operation runs: the failure subject recorded first, then the span looked up.
    const component = new UnaryCallContext(Runtime.method.getState, { ":path": "/x" }, undefined);
    expect(traceScopeAmong([{ key: "k" }, atComponent(component, "state_demo", "k")])).toBeUndefined();
    expect(component.madeValues()).toBeUndefined();
    expect(component.recordedValues()?.get(failureSubjectKey)).toEqual({ rpc: "GetState", store: "state_demo", item: "k" });
    const tracedComponent = new UnaryCallContext(Runtime.method.getState, { ":path": "/x" }, undefined, new CallValues().set(traceScopeKey, scope));
    expect(traceScopeAmong([{ key: "k" }, atComponent(tracedComponent, "state_demo", "k")])).toBe(scope);
  });
});
