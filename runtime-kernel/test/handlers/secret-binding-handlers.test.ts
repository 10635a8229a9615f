import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { create } from "@bufbuild/protobuf";
import { Code } from "@connectrpc/connect";
import {
  GetBulkSecretRequestSchema,
  GetSecretRequestSchema,
  InvokeBindingRequestSchema,
} from "@ottavo/generated/spec/proto/runtime/v1/runtime_pb";
import { bytes, contextFor, expectError, runtimeWith, text } from "./support";

describe("secret handlers", () => {
  let runtime: Awaited<ReturnType<typeof runtimeWith>>;
  let dir: string;
  const ctx = contextFor("getSecret");

  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), "ottavo-secret-handlers-"));
    const secretsFile = path.join(dir, "secrets.json");
    await writeFile(secretsFile, JSON.stringify({ db_password: "s3cret", api: { key: "k1" } }));
    runtime = await runtimeWith([{ capability: "secret", type: "local.file", name: "secret_demo", metadata: { secretsFile } }]);
  });
  afterEach(async () => {
    await runtime.close();
    await rm(dir, { recursive: true, force: true });
  });

  it("reads one secret and every secret", async () => {
    const one = await runtime.groups.secret.getSecret(create(GetSecretRequestSchema, { storeName: "secret_demo", key: "db_password" }), ctx);
    expect(one).toEqual({ data: { db_password: "s3cret" } });
    const all = await runtime.groups.secret.getBulkSecret(create(GetBulkSecretRequestSchema, { storeName: "secret_demo" }), ctx);
    expect(all).toEqual({
      data: { db_password: { secrets: { db_password: "s3cret" } }, "api:key": { secrets: { "api:key": "k1" } } },
    });
  });

  it("answers NOT_FOUND for a missing secret, with Layotto's text", async () => {
    await expectError(
      runtime.groups.secret.getSecret(create(GetSecretRequestSchema, { storeName: "secret_demo", key: "nope" }), ctx),
      Code.NotFound,
      /^error when get secret : secret name => nope,store name =>secret_demo,error => /,
    );
  });

  it("answers FAILED_PRECONDITION without stores and INVALID_ARGUMENT for an unknown one", async () => {
    await expectError(
      runtime.groups.secret.getSecret(create(GetSecretRequestSchema, { storeName: "vault", key: "k" }), ctx),
      Code.InvalidArgument,
      "error when get secret but not find : vault",
    );
    await expectError(
      runtime.groups.secret.getBulkSecret(create(GetBulkSecretRequestSchema, { storeName: "vault" }), ctx),
      Code.InvalidArgument,
      "error when get secret but not find : vault",
    );
    const bare = await runtimeWith([]);
    await expectError(
      bare.groups.secret.getSecret(create(GetSecretRequestSchema, { storeName: "vault", key: "k" }), ctx),
      Code.FailedPrecondition,
      "error when get secret but not find configured",
    );
  });
});

describe("binding handlers", () => {
  let server: Server;
  let url: string;
  const ctx = contextFor("invokeBinding");

  beforeAll(async () => {
    server = createServer((req, res) => {
      const body: Buffer[] = [];
      req.on("data", (chunk: Buffer) => body.push(chunk));
      req.on("end", () => {
        if (req.url === "/fail") {
          res.writeHead(503).end("down");
          return;
        }
        res.writeHead(200, { "content-type": "text/plain", "x-echo-path": req.url ?? "" });
        res.end(`${req.method} ${Buffer.concat(body).toString()}`);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  const invoke = async (fields: { name?: string; operation: string; data?: Uint8Array; metadata?: Record<string, string> }) => {
    const runtime = await runtimeWith([{ capability: "binding", type: "http", name: "http_demo", metadata: { url } }]);
    try {
      return await runtime.groups.binding.invokeBinding(
        create(InvokeBindingRequestSchema, { name: "http_demo", ...fields }),
        ctx,
      );
    } finally {
      await runtime.close();
    }
  };

  it("sends the operation and data to the binding and answers its data and metadata", async () => {
    const answer = await invoke({ operation: "post", data: bytes("payload"), metadata: { path: "/orders" } });
    expect(text(answer.data)).toBe("POST payload");
    expect(answer.metadata).toMatchObject({ statusCode: "200", "X-Echo-Path": "/orders" });
  });

  it("keeps the binding's declared error codes, in Layotto's words", async () => {
    await expectError(invoke({ operation: "teleport" }), Code.InvalidArgument, /^error when invoke output binding http_demo: /);
    await expectError(invoke({ operation: "get", metadata: { path: "/fail" } }), Code.Unavailable, /^error when invoke output binding http_demo: /);
  });

  it("answers FAILED_PRECONDITION without bindings and INVALID_ARGUMENT for an unknown one", async () => {
    await expectError(
      invoke({ name: "nope", operation: "get" }),
      Code.InvalidArgument,
      "error when invoke output binding nope: couldn't find output binding nope",
    );
    const bare = await runtimeWith([]);
    await expectError(
      bare.groups.binding.invokeBinding(create(InvokeBindingRequestSchema, { name: "x", operation: "get" }), ctx),
      Code.FailedPrecondition,
      "output binding is not configured",
    );
  });
});
