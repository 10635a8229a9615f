/**
 * The fast path's handler context: its signal is made on first use, and one made
 * after the abort is aborted too; response headers appended without a Headers
 * object reach the answer and the Headers object alike.
 */
import { Code, ConnectError } from "@connectrpc/connect";
import { Runtime } from "@ottavo/generated/spec/proto/runtime/v1/runtime_pb";
import { UnaryCallContext } from "../../src/server/grpc/unary-call-context";

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
