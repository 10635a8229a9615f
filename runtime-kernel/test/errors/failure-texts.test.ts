import { Code, ConnectError, createContextValues } from "@connectrpc/connect";
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { EtagMismatchError } from "@ottavo/generated/components/state";
import { Runtime } from "@ottavo/generated/spec/proto/runtime/v1/runtime_pb";
import { toConnectError } from "../../src/errors/error-mapping";
import { failureSubjectKey, failureTexts } from "../../src/errors/failure-texts";

/**
 * Issue 9, item 5: Layotto's words for a component's failure live in one table the
 * error mapping reads; handlers record what they asked the component and catch nothing.
 */
describe("Layotto's words for component failures (errors/failure-texts.ts)", () => {
  const values = (rpc: string, store: string, item?: string) => {
    const v = createContextValues();
    v.set(failureSubjectKey, { rpc, store, item });
    return v;
  };

  it("has a row for every Runtime rpc that hands a call to a component, and only for Runtime rpcs", () => {
    const rpcs = Runtime.methods.map((m) => m.name);
    for (const rpc of Object.keys(failureTexts)) expect([rpc, rpcs.includes(rpc)]).toEqual([rpc, true]);
    const kernelOnly = rpcs.filter((rpc) => !(rpc in failureTexts)).sort();
    // The rpcs no component answers (InvokeService goes to the invoker, which words its own errors).
    expect(kernelOnly).toEqual(["InvokeService"]);
  });

  it("wraps a component's text for the rpc the handler recorded, keeping the declared status and its detail", () => {
    const mapped = toConnectError(new EtagMismatchError("etag 3 is stale"), values("SaveState", "s"));
    expect([mapped.code, mapped.rawMessage]).toEqual([Code.Aborted, "failed saving state in state store s: etag 3 is stale"]);
    expect(mapped.details).toHaveLength(1);
    const internal = toConnectError(new Error("socket hang up"), values("GetState", "s", "k"));
    expect([internal.code, internal.rawMessage]).toEqual([Code.Internal, "fail to get k from state store s: socket hang up"]);
    // One rpc, two wordings: a store with BULK fails as a whole, one without it on a key.
    expect(toConnectError(new Error("x"), values("DeleteBulkState", "s")).rawMessage).toBe("failed deleting state in state store s: x");
    expect(toConnectError(new Error("x"), values("DeleteBulkState", "s", "b")).rawMessage).toBe("failed deleting state with key b: x");
  });

  it("leaves the kernel's own errors and calls that reached no component as they are", () => {
    const kernel = new ConnectError("state store nope is not found", Code.InvalidArgument);
    expect(toConnectError(kernel, values("GetState", "s", "k"))).toBe(kernel);
    expect(toConnectError(new Error("bug")).rawMessage).toBe("bug");
    expect(toConnectError(new Error("bug"), createContextValues()).rawMessage).toBe("bug");
  });

  it("leaves handlers without a catch that maps errors (only cleanup in finally, and bulk items that carry their own error)", () => {
    const dir = join(__dirname, "..", "..", "src", "handlers");
    const catches = readdirSync(dir)
      .filter((f) => f.endsWith("-handlers.ts"))
      .flatMap((f) => [...readFileSync(join(dir, f), "utf8").matchAll(/catch \((\w+)\) \{\n(.*)\n/g)].map((m) => `${f}: ${m[2].trim()}`));
    // GetBulkState on a store without BULK: a key that fails is an item with an error, not a failed call.
    expect(catches).toEqual(["state-handlers.ts: return { key: callerKey, data: emptyBytes, error: errorText(error) };"]);
    for (const f of readdirSync(dir)) expect([f, readFileSync(join(dir, f), "utf8").includes("componentFailure")]).toEqual([f, false]);
  });
});
