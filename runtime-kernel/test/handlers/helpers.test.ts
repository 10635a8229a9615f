import { Code, ConnectError } from "@connectrpc/connect";
import { EtagMismatchError } from "@ottavo/generated/components/state";
import { create } from "@bufbuild/protobuf";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { PutFileRequestSchema } from "@ottavo/generated/spec/proto/runtime/v1/runtime_pb";
import { AsyncQueue } from "../../src/handlers/async-queue";
import { publishEnvelope, rawMember, unpackMessage } from "../../src/events/cloud-events";
import { componentFailure } from "../../src/errors/error-mapping";
import { bytes, contextFor, expectError, runtimeWith, text } from "./support";
import { KeyScope } from "../../src/handlers/key-prefix";
import type { ComponentEntry } from "../../src/registry/component-table";

describe("componentFailure", () => {
  it("keeps the code of a declared component error and wraps its text", () => {
    const error = componentFailure(new EtagMismatchError("etag 3 is stale"), (detail) => `failed saving state in state store s: ${detail}`);
    expect([error.code, error.rawMessage]).toEqual([Code.Aborted, "failed saving state in state store s: etag 3 is stale"]);
  });

  it("makes any other error INTERNAL, naming the operation", () => {
    const error = componentFailure(new Error("socket hang up"), (detail) => `fail to get k from state store s: ${detail}`);
    expect(error).toBeInstanceOf(ConnectError);
    expect([error.code, error.rawMessage]).toEqual([Code.Internal, "fail to get k from state store s: socket hang up"]);
  });
});

describe("a plain Error from an adapter", () => {
  it("reaches the caller as INTERNAL naming the operation and the store", async () => {
    const rootDir = await mkdtemp(path.join(tmpdir(), "ottavo-handler-errors-"));
    const runtime = await runtimeWith([{ capability: "file", type: "local", name: "files", metadata: { rootDir } }]);
    async function* failing() {
      yield create(PutFileRequestSchema, { storeName: "files", name: "partial.txt", data: bytes("start") });
      throw new Error("the client went away");
    }
    await expectError(
      runtime.groups.file.putFile(failing(), contextFor("putFile")),
      Code.Internal,
      "put file partial.txt into file store files fail, err: the client went away",
    );
    await runtime.close();
    await rm(rootDir, { recursive: true, force: true });
  });
});

describe("key prefixes from metadata", () => {
  it("refuses a store whose keyPrefix contains || when it is created (key-prefix.cap's pattern), not at every call", async () => {
    await expect(
      runtimeWith([{ capability: "lock", type: "in-memory", name: "lock_demo", metadata: { keyPrefix: "a||b" } }]),
    ).rejects.toThrow(`metadata field 'keyPrefix' must match /^(?![^]*[|][|])/, not "a||b"`);
  });

  it("answers FAILED_PRECONDITION when a keyPrefix with || reaches a call anyway (a store that does not declare keyPrefix)", async () => {
    const scope = new KeyScope("app", "lock|||", "appid", "lock store");
    const entry = { name: "lock_demo", metadata: { keyPrefix: "a||b" } } as unknown as ComponentEntry;
    expect(() => scope.scope(entry, "r")).toThrow("the keyPrefix of lock store lock_demo can't contain '||'");
  });
});

describe("cloud events", () => {
  const message = (data: string, fields: Partial<{ id: string; contentType: string }> = {}) => ({
    id: fields.id ?? "broker-1",
    topic: "orders",
    data: bytes(data),
    contentType: fields.contentType ?? "application/cloudevents+json",
    deliveryCount: 1,
    metadata: {},
  });

  it("unpacks what publishEnvelope packs", () => {
    const packed = publishEnvelope({
      data: bytes('{"big": 9007199254740993}'),
      dataContentType: "application/json",
      topic: "orders",
      pubsubName: "ps",
      source: "app1",
      trace: {},
    });
    const event = unpackMessage(message(text(packed)), "ps");
    expect(event).toMatchObject({ source: "app1", type: "com.dapr.event.sent", specVersion: "1.0", pubsubName: "ps" });
    expect(text(event?.data ?? new Uint8Array())).toBe('{"big": 9007199254740993}');
  });

  it("decodes data_base64, and keeps text data as text", () => {
    const binary = unpackMessage(message('{"id":"e","specversion":"1.0","datacontenttype":"application/octet-stream","data_base64":"AP8B"}'), "ps");
    expect([...(binary?.data ?? [])]).toEqual([0, 255, 1]);
    const plain = unpackMessage(message('{"id":"e","specversion":"1.0","datacontenttype":"text/plain","data":"hi"}'), "ps");
    expect(text(plain?.data ?? new Uint8Array())).toBe("hi");
  });

  it("drops an event whose expiration has passed", () => {
    const event = '{"id":"e","specversion":"1.0","expiration":"2020-01-01T00:00:00Z","data":"x"}';
    expect(unpackMessage(message(event), "ps")).toBeUndefined();
    expect(unpackMessage(message(event), "ps", Date.parse("2019-12-31T00:00:00Z"))).toBeDefined();
  });

  it("finds the raw text of a top-level member", () => {
    const text = '{ "a" : {"data": 1, "s": "}\\""}, "data" :[1, {"x": "]"}] , "z": 12345678901234567890 }';
    expect(rawMember(text, "data")).toBe('[1, {"x": "]"}]');
    expect(rawMember(text, "z")).toBe("12345678901234567890");
    expect(rawMember(text, "missing")).toBeUndefined();
  });
});

describe("AsyncQueue", () => {
  it("hands out queued items, then ends or fails after them", async () => {
    const queue = new AsyncQueue<number>();
    queue.push(1);
    const waiting = queue.next();
    queue.push(2);
    queue.end();
    expect(queue.push(3)).toBe(false);
    const seen = [await waiting];
    for await (const item of queue) seen.push({ value: item, done: false });
    expect(seen.map((r) => r.value)).toEqual([1, 2]);

    const failing = new AsyncQueue<number>();
    failing.push(1);
    failing.fail(new Error("boom"));
    expect(await failing.next()).toEqual({ value: 1, done: false });
    await expect(failing.next()).rejects.toThrow("boom");
  });

  it("is bounded: one push past the limit drops what is queued and fails the next read with RESOURCE_EXHAUSTED", async () => {
    const queue = new AsyncQueue<number>(2, "the test stream");
    expect([queue.push(1), queue.push(2), queue.size]).toEqual([true, true, 2]);
    expect(queue.push(3)).toBe(false);
    expect([queue.size, queue.closed]).toEqual([0, true]);
    const error = await queue.next().then(() => undefined, (e: unknown) => e as ConnectError);
    expect(Code[error!.code]).toBe("ResourceExhausted");
    expect(error!.rawMessage).toMatch(/^the test stream has 2 responses its client has not read/);
    // A reader that keeps up never sees the bound: items handed straight to a waiting reader are not queued.
    const live = new AsyncQueue<number>(1);
    for (let i = 0; i < 5; i++) {
      const waiting = live.next();
      expect(live.push(i)).toBe(true);
      expect((await waiting).value).toBe(i);
    }
  });

  it("wakes a waiting reader on end", async () => {
    const queue = new AsyncQueue<number>();
    const waiting = queue.next();
    queue.end();
    expect(await waiting).toEqual({ value: undefined, done: true });
  });
});
