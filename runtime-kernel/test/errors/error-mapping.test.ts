import { Code, ConnectError } from "@connectrpc/connect";
import { ComponentError } from "@ottavo/component-runtime";
import { TimeoutError, UnavailableError } from "@ottavo/generated/components/errors";
import { EtagMismatchError } from "@ottavo/generated/components/state";
import { codeOf, componentFailure, toConnectError } from "../../src/errors/error-mapping";
import { defaultErrorMapper } from "../../src/server/pipeline";

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
});
