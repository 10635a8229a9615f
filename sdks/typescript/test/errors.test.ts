import { BinaryWriter } from "@bufbuild/protobuf/wire";
import { Code, ConnectError } from "@connectrpc/connect";
import {
  EtagMismatch,
  FailedPrecondition,
  InvalidArgument,
  NotFound,
  OttavoError,
  SecretNotFound,
  statusClasses,
  toOttavoError,
  typedErrors,
  errorInfoDomain,
  Unavailable,
} from "@ottavo/sdk";

/**
 * How a failed call becomes a typed error, for every declared error of
 * spec/components, including those no scenario can provoke on the scenario
 * runtime (FileAlreadyExists: no file operation the spec declares refuses to
 * replace a file).
 */
function errorInfo(reason: string, domain: string, metadata: Record<string, string>): Uint8Array {
  const writer = new BinaryWriter();
  writer.uint32((1 << 3) | 2).string(reason);
  writer.uint32((2 << 3) | 2).string(domain);
  for (const [key, value] of Object.entries(metadata)) {
    writer.uint32((3 << 3) | 2).fork().uint32((1 << 3) | 2).string(key).uint32((2 << 3) | 2).string(value).join();
  }
  return writer.finish();
}

function failure(code: Code, details: { reason: string; domain?: string; metadata?: Record<string, string> }[] = []): ConnectError {
  const error = new ConnectError("the runtime's message", code);
  for (const d of details) error.details.push({ type: "google.rpc.ErrorInfo", value: errorInfo(d.reason, d.domain ?? errorInfoDomain, d.metadata ?? {}) });
  return error;
}

const classify = (error: ConnectError, capability?: string) => toOttavoError(error, capability, typedErrors, errorInfoDomain);

it("maps every declared error's ErrorInfo to its class, whichever capability was called, keeping code, message and reason", () => {
  const mapped: string[] = [];
  for (const [capability, table] of Object.entries(typedErrors)) {
    for (const [reason, Class] of table.reasons) {
      const status = new Class(Code.Unknown, "", undefined);
      const base = [...statusClasses.values()].find((S) => Object.getPrototypeOf(Class) === S)!;
      const code = [...statusClasses].find(([, S]) => S === base)![0];
      const error = classify(failure(code, [{ reason, metadata: { capability } }]), "hello");
      expect(error).toBeInstanceOf(Class);
      expect(error).toBeInstanceOf(base);
      expect([error.name, error.reason, error.code, error.rawMessage, error.capability]).toEqual([status.name, reason, code, "the runtime's message", "hello"]);
      mapped.push(error.name);
    }
  }
  expect(mapped.sort()).toEqual([
    "EtagInvalid", "EtagMismatch", "FileAlreadyExists", "FileNotFound", "FilePermissionDenied", "InvalidName",
    "ResolverUnavailable", "SecretNotFound", "TopicNotFound", "Unreachable", "UnsupportedOperation",
  ]);
});

it("maps a shared error's ErrorInfo (no capability) to its status's class, not to a capability's class of that status", () => {
  const error = classify(failure(Code.NotFound, [{ reason: "NotFound" }]), "secret");
  expect([error.constructor, error.reason]).toEqual([NotFound, "NotFound"]);
  expect(classify(failure(Code.Unavailable, [{ reason: "Unavailable" }]), "state")).toBeInstanceOf(Unavailable);
});

it("without an ErrorInfo of its domain, maps by the called capability's status, else the status's class", () => {
  expect(classify(failure(Code.NotFound), "secret")).toBeInstanceOf(SecretNotFound);
  expect(classify(failure(Code.Aborted), "state")).toBeInstanceOf(EtagMismatch);
  const foreign = classify(failure(Code.InvalidArgument, [{ reason: "EtagInvalid", domain: "dapr.io", metadata: { capability: "state" } }]), "state");
  expect([foreign.constructor, foreign.reason]).toEqual([InvalidArgument, undefined]);
  expect(classify(failure(Code.FailedPrecondition), undefined).constructor).toBe(FailedPrecondition);
  const garbled = failure(Code.InvalidArgument);
  garbled.details.push({ type: "google.rpc.ErrorInfo", value: new Uint8Array([0x0a, 0xff]) });
  expect(classify(garbled, "state").constructor).toBe(InvalidArgument);
  expect(classify(failure(Code.InvalidArgument), "state")).toBeInstanceOf(OttavoError);
});
