import { Code, ConnectError } from "@connectrpc/connect";
import { ComponentError } from "@ottavo/component-runtime";
import { TimeoutError, UnavailableError } from "@ottavo/generated/components/errors";
import { EtagMismatchError } from "@ottavo/generated/components/state";
import { codeOf, componentFailure, toConnectError } from "../../src/errors/error-mapping";
import { defaultErrorMapper } from "../../src/server/pipeline";
import { decodeErrorInfo } from "../invoke/support";

describe("the one error mapping", () => {
  it("maps each declared status to its gRPC code, keeps ConnectErrors, and makes anything else INTERNAL", () => {
    expect(Code[codeOf(new EtagMismatchError("stale"))]).toBe("Aborted");
    expect(Code[codeOf(new UnavailableError("down"))]).toBe("Unavailable");
    expect(Code[codeOf(new TimeoutError("late"))]).toBe("DeadlineExceeded");
    expect(Code[codeOf(new ComponentError("gone", "CANCELLED", undefined, "Cancelled"))]).toBe("Canceled");
    expect(Code[codeOf(new ConnectError("kernel", Code.FailedPrecondition))]).toBe("FailedPrecondition");
    expect(Code[codeOf(new Error("bug"))]).toBe("Internal");
    expect(Code[codeOf("text")]).toBe("Internal");
  });

  it("is the pipeline's mapper, so a handler without try/catch answers a component's status on every path", () => {
    expect(defaultErrorMapper).toBe(toConnectError);
    const mapped = defaultErrorMapper(new UnavailableError("redis at 127.0.0.1:1 is unavailable"));
    expect(Code[mapped.code]).toBe("Unavailable");
    expect(mapped.rawMessage).toBe("redis at 127.0.0.1:1 is unavailable");
    expect(Code[defaultErrorMapper(new Error("boom")).code]).toBe("Internal");
  });

  it("componentFailure words the message and keeps the status", () => {
    const mapped = componentFailure(new EtagMismatchError("etag 1 is stale"), (detail) => `fail to save: ${detail}`);
    expect([Code[mapped.code], mapped.rawMessage]).toEqual(["Aborted", "fail to save: etag 1 is stale"]);
  });

  it("names a declared error in an ErrorInfo detail, once encoded per error, and keeps a ConnectError's own details", () => {
    const info = (error: ConnectError) => error.details.map((d) => ("type" in d ? [d.type, decodeErrorInfo(d.value)] : d.desc.typeName));
    const first = componentFailure(new EtagMismatchError("stale"), (detail) => detail);
    expect(info(first)).toEqual([["google.rpc.ErrorInfo", { reason: "EtagMismatch", domain: "ottavo.dev", metadata: { capability: "state" } }]]);
    expect(componentFailure(new EtagMismatchError("stale again"), (detail) => detail).details[0]).toBe(first.details[0]);
    expect(info(toConnectError(new TimeoutError("late")))).toEqual([["google.rpc.ErrorInfo", { reason: "Timeout", domain: "ottavo.dev", metadata: {} }]]);
    expect(toConnectError(new Error("bug")).details).toEqual([]);
    const kernel = new ConnectError("no such store", Code.InvalidArgument);
    expect(toConnectError(kernel).details).toEqual([]);
    const wrapped = componentFailure(first, (detail) => `outer: ${detail}`);
    expect([wrapped.rawMessage, wrapped.details]).toEqual(["outer: stale", first.details]);
  });
});
