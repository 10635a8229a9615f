import { resolve } from "node:path";
import { runSpecDiff } from "../../src/spec-diff/spec-diff";

/**
 * The wire-compatibility contract: spec/proto serves everything the published
 * layotto SDK's protos define, with the same names, numbers, types and streaming.
 */
const root = resolve(__dirname, "../../..");

describe("spec/proto against the installed layotto package", () => {
  const report = runSpecDiff(root);

  test("has no mismatches", () => {
    expect(report.mismatches).toEqual([]);
  });

  test("lists SubscribeTopicEvents and its messages as additions", () => {
    expect(report.additions).toEqual(
      expect.arrayContaining([
        "rpc spec.proto.runtime.v1.Runtime.SubscribeTopicEvents only in ours",
        "message spec.proto.runtime.v1.SubscribeTopicEventsRequest only in ours",
        "message spec.proto.runtime.v1.SubscribeTopicEventsResponse only in ours",
      ]),
    );
  });

  test("reports the extension packages we do not serve as not compared", () => {
    expect(report.notCompared).toEqual([
      "not compared: package spec.proto.extension.v1.cryption (not in spec/): upstream runtime/v1/cryption.proto",
      "not compared: package spec.proto.extension.v1.delay_queue (not in spec/): upstream runtime/v1/delay_queue.proto",
      "not compared: package spec.proto.extension.v1.email (not in spec/): upstream runtime/v1/email.proto",
      "not compared: package spec.proto.extension.v1.s3 (not in spec/): upstream runtime/v1/oss.proto",
      "not compared: package spec.proto.extension.v1.phone (not in spec/): upstream runtime/v1/phone.proto",
    ]);
  });
});
