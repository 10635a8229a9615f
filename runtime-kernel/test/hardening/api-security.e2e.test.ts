/**
 * Issue 11, deliverable 5: the API token on every call of every protocol and
 * path, the actuator's admin endpoints behind it, and TLS on the API port
 * (mTLS, reload on change, Layotto's tls_context).
 */
import { copyFileSync, mkdtempSync, readFileSync } from "node:fs";
import * as http2 from "node:http2";
import * as https from "node:https";
import { tmpdir } from "node:os";
import * as path from "node:path";
import * as tls from "node:tls";
import { create, toBinary } from "@bufbuild/protobuf";
import { SayHelloRequestSchema } from "@ottavo/generated/spec/proto/runtime/v1/runtime_pb";
import { eventually, startRuntime } from "@ottavo/test-support";
import { postConnectJson } from "../e2e/support";
import { rawGrpcCall } from "./raw-grpc";

jest.setTimeout(30_000);

const tlsDir = path.join(__dirname, "..", "fixtures", "tls");
const pem = (name: string) => readFileSync(path.join(tlsDir, name));
const hello = toBinary(SayHelloRequestSchema, create(SayHelloRequestSchema, { serviceName: "quick_start_demo", name: "t" }));
const components = `components:
  hello:
    quick_start_demo: { type: helloworld, metadata: { hello: greetings } }
`;

describe("OTTAVO_API_TOKEN", () => {
  it("is required on gRPC (fast path) and Connect calls, compared exactly; health probes stay open", async () => {
    const runtime = await startRuntime({
      config: `api: { address: 127.0.0.1:0 }\nactuator: { address: 127.0.0.1:0 }\n${components}`,
      env: { OTTAVO_API_TOKEN: "s3cret-token" },
    });
    const unauthenticated = 16;
    expect((await rawGrpcCall(runtime.apiPort, "SayHello", hello)).status).toBe(unauthenticated);
    expect((await rawGrpcCall(runtime.apiPort, "SayHello", hello, { headers: { "dapr-api-token": "s3cret-tokem" } })).status).toBe(unauthenticated);
    expect((await rawGrpcCall(runtime.apiPort, "SayHello", hello, { headers: { "dapr-api-token": "s3cret-token" } })).status).toBe(0);
    expect((await postConnectJson(runtime.apiUrl, "SayHello", { serviceName: "quick_start_demo" })).status).toBe(401);
    const withToken = await fetch(`${runtime.apiUrl}/spec.proto.runtime.v1.Runtime/SayHello`, {
      method: "POST",
      headers: { "content-type": "application/json", "dapr-api-token": "s3cret-token" },
      body: '{"serviceName":"quick_start_demo"}',
    });
    expect(withToken.status).toBe(200);
    // The actuator: probes open, info (and every admin endpoint) behind the token.
    expect((await fetch(`${runtime.actuatorUrl}/actuator/health/readiness`)).status).toBe(200);
    expect((await fetch(`${runtime.actuatorUrl}/actuator/info`)).status).toBe(401);
    expect((await fetch(`${runtime.actuatorUrl}/actuator/info`, { headers: { authorization: "Bearer s3cret-token" } })).status).toBe(200);
    expect(runtime.stderr()).not.toContain("s3cret-token");
    expect(await runtime.stop()).toBe(0);
  });
});

/** One gRPC SayHello over TLS (h2), trusting the test CA; resolves with the peer certificate's CN and the grpc-status. */
function tlsSayHello(port: number, options: tls.ConnectionOptions = {}): Promise<{ cn: string; status: number }> {
  return new Promise((resolve, reject) => {
    const session = http2.connect(`https://127.0.0.1:${port}`, { ca: pem("ca.pem"), ...options });
    session.on("error", reject);
    const stream = session.request({ ":method": "POST", ":path": "/spec.proto.runtime.v1.Runtime/SayHello", "content-type": "application/grpc", te: "trailers" });
    stream.on("error", reject);
    stream.on("data", () => undefined);
    stream.on("trailers", (trailers) => {
      const cn = String((session.socket as tls.TLSSocket).getPeerCertificate().subject.CN);
      session.close();
      resolve({ cn, status: Number(trailers["grpc-status"]) });
    });
    const head = Buffer.alloc(5);
    head.writeUInt32BE(hello.length, 1);
    stream.end(Buffer.concat([head, hello]));
  });
}

describe("TLS on the API port", () => {
  it("serves gRPC over h2 and Connect over HTTP/1.1 with TLS, requires client certificates with clientCaFile, reloads changed files", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "ottavo-tls-"));
    copyFileSync(path.join(tlsDir, "server.pem"), path.join(dir, "cert.pem"));
    copyFileSync(path.join(tlsDir, "server-key.pem"), path.join(dir, "key.pem"));
    const runtime = await startRuntime({
      config: `api:
  address: 0.0.0.0:0
  tls: { certFile: ${dir}/cert.pem, keyFile: ${dir}/key.pem, clientCaFile: ${path.join(tlsDir, "ca.pem")} }
actuator: { address: 127.0.0.1:0 }
${components}`,
    });
    expect(runtime.stderr()).not.toMatch(/plaintext/);
    const client = { cert: pem("client.pem"), key: pem("client-key.pem") };
    expect(await tlsSayHello(runtime.apiPort, client)).toEqual({ cn: "server", status: 0 });
    // No client certificate: the handshake is refused.
    await expect(tlsSayHello(runtime.apiPort)).rejects.toThrow();
    // Connect JSON over HTTP/1.1 with TLS.
    const status = await new Promise<number>((resolve, reject) => {
      const request = https.request(
        { host: "127.0.0.1", port: runtime.apiPort, method: "POST", path: "/spec.proto.runtime.v1.Runtime/SayHello", headers: { "content-type": "application/json" }, ca: pem("ca.pem"), ...client },
        (response) => (response.resume(), resolve(response.statusCode ?? 0)),
      );
      request.on("error", reject);
      request.end('{"serviceName":"quick_start_demo"}');
    });
    expect(status).toBe(200);
    // A renewed certificate is picked up by new connections.
    copyFileSync(path.join(tlsDir, "server2-key.pem"), path.join(dir, "key.pem"));
    copyFileSync(path.join(tlsDir, "server2.pem"), path.join(dir, "cert.pem"));
    await eventually(async () => (await tlsSayHello(runtime.apiPort, client)).cn === "server2");
    expect(await runtime.stop()).toBe(0);
  });

  it("honours Layotto's tls_context instead of serving plaintext without a word", async () => {
    const config = JSON.stringify({
      servers: [{ listeners: [
        { name: "grpc", address: "127.0.0.1:0", filter_chains: [{
          tls_context: { status: true, cert_chain: path.join(tlsDir, "server.pem"), private_key: pem("server-key.pem").toString() },
          filters: [{ type: "grpc", config: { server_name: "runtime", grpc_config: { hellos: { quick_start_demo: { type: "helloworld", hello: "greetings" } } } } }],
        }] },
        { name: "actuator", address: "127.0.0.1:0" },
      ] }],
    });
    const runtime = await startRuntime({ config, format: "json" });
    expect(await tlsSayHello(runtime.apiPort)).toEqual({ cn: "server", status: 0 });
    expect(await runtime.stop()).toBe(0);
  });
});
