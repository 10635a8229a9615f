import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { SpecDiff } from "../../src/spec-diff/compare";
import { diffProtoSpecs, loadProtoDirectory } from "../../src/spec-diff/spec-diff";

/** Each case is an upstream and an "ours" version of one small file; the report lines are asserted exactly. */

let scratch: string;
beforeAll(() => {
  scratch = mkdtempSync(join(tmpdir(), "ottavo-spec-diff-"));
});
afterAll(() => {
  rmSync(scratch, { recursive: true, force: true });
});

let caseNumber = 0;

/** Files are `{ path: body }`; a body gets `syntax` and `package demo.v1` unless it starts with `syntax`. */
function writeDir(dir: string, files: Record<string, string>): void {
  for (const [path, body] of Object.entries(files)) {
    const full = join(dir, path);
    mkdirSync(join(full, ".."), { recursive: true });
    const text = body.trimStart().startsWith("syntax") ? body : `syntax = "proto3";\npackage demo.v1;\n${body}`;
    writeFileSync(full, text);
  }
}

function diff(upstream: Record<string, string> | string, ours: Record<string, string> | string): SpecDiff {
  const dir = join(scratch, `case-${++caseNumber}`);
  writeDir(join(dir, "upstream"), typeof upstream === "string" ? { "demo.proto": upstream } : upstream);
  writeDir(join(dir, "ours"), typeof ours === "string" ? { "demo.proto": ours } : ours);
  return diffProtoSpecs(loadProtoDirectory(join(dir, "upstream")), loadProtoDirectory(join(dir, "ours")));
}

describe("spec-diff mismatch classes", () => {
  test("a changed field type names both types, relative to the package", () => {
    const enumDecl = `message StateOptions { enum StateConsistency { CONSISTENCY_UNSPECIFIED = 0; CONSISTENCY_STRONG = 1; } }`;
    const result = diff(
      `${enumDecl}\nmessage GetStateRequest { string key = 2; StateOptions.StateConsistency consistency = 3; }`,
      `${enumDecl}\nmessage GetStateRequest { string key = 2; int32 consistency = 3; }`,
    );
    expect(result.mismatches).toEqual([
      "message demo.v1.GetStateRequest: field 3 'consistency': upstream enum StateOptions.StateConsistency, ours int32",
    ]);
  });

  test("a type from another package keeps its full name", () => {
    const result = diff(
      `import "google/protobuf/any.proto";\nmessage Req { google.protobuf.Any data = 1; }`,
      `message Req { bytes data = 1; }`,
    );
    expect(result.mismatches).toEqual(["message demo.v1.Req: field 1 'data': upstream message google.protobuf.Any, ours bytes"]);
  });

  test("a changed field number is one line, not a missing field plus an addition", () => {
    const result = diff(`message StateItem { string key = 1; string etag = 2; }`, `message StateItem { string key = 1; string etag = 5; }`);
    expect(result.mismatches).toEqual(["message demo.v1.StateItem: field 'etag': upstream number 2, ours 5"]);
    expect(result.additions).toEqual([]);
  });

  test("a renamed field is reported under its number", () => {
    const result = diff(
      `message ExecuteStateTransactionRequest { string storeName = 1; }`,
      `message ExecuteStateTransactionRequest { string store_name = 1; }`,
    );
    expect(result.mismatches).toEqual(["message demo.v1.ExecuteStateTransactionRequest: field 1: upstream name 'storeName', ours 'store_name'"]);
  });

  test("a missing field", () => {
    const result = diff(
      `message GetFileRequest { string store_name = 1; string name = 2; map<string, string> metadata = 3; }`,
      `message GetFileRequest { string store_name = 1; string name = 2; }`,
    );
    expect(result.mismatches).toEqual(["message demo.v1.GetFileRequest: field 3 'metadata' missing in ours"]);
  });

  test("changed labels: repeated, map, optional", () => {
    const result = diff(
      `message GetBulkStateRequest { repeated string keys = 2; map<string, string> metadata = 4; string etag = 5; }`,
      `message GetBulkStateRequest { string keys = 2; repeated string metadata = 4; optional string etag = 5; }`,
    );
    expect(result.mismatches).toEqual([
      "message demo.v1.GetBulkStateRequest: field 2 'keys': upstream repeated string, ours string",
      "message demo.v1.GetBulkStateRequest: field 4 'metadata': upstream map<string, string>, ours repeated string",
      "message demo.v1.GetBulkStateRequest: field 5 'etag': upstream string, ours optional string",
    ]);
  });

  test("changed streaming", () => {
    const messages = `message Req {}\nmessage Resp {}`;
    const result = diff(
      `${messages}\nservice Runtime {\n  rpc SubscribeConfiguration(stream Req) returns (stream Resp);\n  rpc GetFile(Req) returns (stream Resp);\n  rpc SayHello(Req) returns (Resp);\n}`,
      `${messages}\nservice Runtime {\n  rpc SubscribeConfiguration(Req) returns (stream Resp);\n  rpc GetFile(Req) returns (Resp);\n  rpc SayHello(stream Req) returns (Resp);\n}`,
    );
    expect(result.mismatches).toEqual([
      "rpc demo.v1.Runtime.SubscribeConfiguration: upstream streams client and server, ours server only",
      "rpc demo.v1.Runtime.GetFile: upstream streams server only, ours unary",
      "rpc demo.v1.Runtime.SayHello: upstream unary, ours streams client only",
    ]);
  });

  test("a changed request or response type", () => {
    const result = diff(
      `import "google/protobuf/empty.proto";\nmessage SaveStateRequest {}\nservice Runtime { rpc SaveState(SaveStateRequest) returns (google.protobuf.Empty); }`,
      `message SaveStateRequest {}\nmessage SaveStateResponse {}\nservice Runtime { rpc SaveState(SaveStateRequest) returns (SaveStateResponse); }`,
    );
    expect(result.mismatches).toEqual([
      "rpc demo.v1.Runtime.SaveState: upstream response google.protobuf.Empty, ours SaveStateResponse",
    ]);
    expect(result.additions).toEqual(["message demo.v1.SaveStateResponse only in ours"]);
  });

  test("a missing rpc, and a missing service", () => {
    const messages = `message Req {}\nmessage Resp {}`;
    const result = diff(
      `${messages}\nservice Runtime {\n  rpc GetSecret(Req) returns (Resp);\n  rpc GetBulkSecret(Req) returns (Resp);\n}\nservice Lifecycle { rpc ApplyConfiguration(Req) returns (Resp); }`,
      `${messages}\nservice Runtime { rpc GetSecret(Req) returns (Resp); }`,
    );
    expect(result.mismatches).toEqual([
      "rpc demo.v1.Runtime.GetBulkSecret missing in ours",
      "service demo.v1.Lifecycle missing in ours",
    ]);
  });

  test("a missing enum value, a renumbered one, a renamed one", () => {
    const result = diff(
      `message UnlockResponse { enum Status { SUCCESS = 0; LOCK_UNEXIST = 1; LOCK_BELONG_TO_OTHERS = 2; INTERNAL_ERROR = 3; } Status status = 1; }`,
      `message UnlockResponse { enum Status { SUCCESS = 0; LOCK_BELONG_TO_OTHERS = 1; LOCK_ERROR = 3; } Status status = 1; }`,
    );
    expect(result.mismatches).toEqual([
      "enum demo.v1.UnlockResponse.Status: value LOCK_UNEXIST = 1 missing in ours",
      "enum demo.v1.UnlockResponse.Status: value LOCK_BELONG_TO_OTHERS: upstream = 2, ours = 1",
      "enum demo.v1.UnlockResponse.Status: value 3: upstream INTERNAL_ERROR, ours LOCK_ERROR",
    ]);
    expect(result.additions).toEqual([]);
  });

  test("a changed jstype", () => {
    const result = diff(
      `message GetNextIdResponse { int64 next_id = 1 [jstype = JS_STRING]; }`,
      `message GetNextIdResponse { int64 next_id = 1; }`,
    );
    expect(result.mismatches).toEqual([
      "message demo.v1.GetNextIdResponse: field 1 'next_id': upstream int64 [jstype = JS_STRING], ours int64",
    ]);
  });

  test("a field moved into a oneof", () => {
    const result = diff(`message Event { string topic = 1; }`, `message Event { oneof kind { string topic = 1; } }`);
    expect(result.mismatches).toEqual(["message demo.v1.Event: field 1 'topic': upstream string, ours string (in oneof kind)"]);
  });

  test("a missing message is reported once, not once per nested declaration", () => {
    const result = diff(
      `message Kept {}\nmessage StateOptions { enum StateConcurrency { CONCURRENCY_UNSPECIFIED = 0; } message Inner {} }`,
      `message Kept {}`,
    );
    expect(result.mismatches).toEqual(["message demo.v1.StateOptions missing in ours"]);
  });

  test("a message declared as an enum", () => {
    const result = diff(`message Status { int32 code = 1; }`, `enum Status { STATUS_UNSPECIFIED = 0; }`);
    expect(result.mismatches).toEqual(["message demo.v1.Status: upstream a message, ours an enum"]);
  });
});

describe("spec-diff additions", () => {
  test("what only ours defines is listed as an addition, not a failure", () => {
    const upstream = `
message TopicEventRequest { string id = 1; }
message TopicEventResponse { enum TopicEventResponseStatus { SUCCESS = 0; RETRY = 1; } TopicEventResponseStatus status = 1; }
service Runtime { rpc PublishEvent(TopicEventRequest) returns (TopicEventResponse); }`;
    const ours = `
message TopicEventRequest { string id = 1; string source = 2; }
message TopicEventResponse { enum TopicEventResponseStatus { SUCCESS = 0; RETRY = 1; DROP = 2; } TopicEventResponseStatus status = 1; }
message SubscribeTopicEventsRequest { message Initial { string topic = 1; } Initial initial = 1; }
service Runtime {
  rpc PublishEvent(TopicEventRequest) returns (TopicEventResponse);
  rpc SubscribeTopicEvents(stream SubscribeTopicEventsRequest) returns (stream TopicEventResponse);
}
service Health { rpc Check(TopicEventRequest) returns (TopicEventResponse); }`;
    const result = diff(upstream, ours);
    expect(result.mismatches).toEqual([]);
    expect(result.additions).toEqual([
      "rpc demo.v1.Runtime.SubscribeTopicEvents only in ours",
      "service demo.v1.Health only in ours",
      "message demo.v1.TopicEventRequest: field 2 'source' only in ours",
      "enum demo.v1.TopicEventResponse.TopicEventResponseStatus: value DROP = 2 only in ours",
      "message demo.v1.SubscribeTopicEventsRequest only in ours",
    ]);
    expect(result.notCompared).toEqual([]);
  });

  test("an upstream package we do not declare is not compared; one only we declare is an addition", () => {
    const result = diff(
      {
        "runtime/v1/runtime.proto": `message Req {}`,
        "runtime/v1/oss.proto": `syntax = "proto3";\npackage demo.extension.v1.s3;\nmessage PutObjectInput { string bucket = 1; }`,
      },
      {
        "demo/v1/runtime.proto": `message Req {}`,
        "demo/v2/runtime.proto": `syntax = "proto3";\npackage demo.v2;\nmessage Req {}`,
      },
    );
    expect(result.mismatches).toEqual([]);
    expect(result.notCompared).toEqual([
      "not compared: package demo.extension.v1.s3 (not in spec/): upstream runtime/v1/oss.proto",
    ]);
    expect(result.additions).toEqual(["package demo.v2 only in ours"]);
  });
});
