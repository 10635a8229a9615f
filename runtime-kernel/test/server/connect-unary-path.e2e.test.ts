/**
 * The Connect unary path (Connect JSON and binary over HTTP/1.1, served from the
 * generated dispatch tables) against Connect-ES on the same runtime: for every
 * request, the same status, headers that matter and body. A client sending
 * `accept-encoding: br` is served by Connect-ES (this path leaves brotli to it),
 * which is how the same runtime answers both ways here.
 */
import * as http from "node:http";
import { gunzipSync, brotliDecompressSync } from "node:zlib";
import { startRuntime, type RunningRuntime } from "@ottavo/test-support";
import { ConnectUnaryPath } from "../../src/server/connect-unary-path";
import { Pipeline } from "../../src/server/pipeline";
import { runtimeUnaryDispatch } from "@ottavo/generated/server/unary-dispatch";
import { demoConfig, demoFiles } from "../e2e/support";

let runtime: RunningRuntime;

beforeAll(async () => {
  runtime = await startRuntime({ config: demoConfig(), files: demoFiles });
});

afterAll(async () => {
  if (runtime) expect(await runtime.stop()).toBe(0);
});

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

function post(path: string, body: string | Buffer, headers: Record<string, string>): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const request = http.request(`${runtime.apiUrl}/spec.proto.runtime.v1.Runtime/${path}`, { method: "POST", headers, agent: false }, (response) => {
      const chunks: Buffer[] = [];
      response.on("data", (chunk: Buffer) => chunks.push(chunk));
      response.on("end", () => resolve({ status: response.statusCode!, headers: response.headers, body: Buffer.concat(chunks) }));
      response.on("error", reject);
    });
    request.on("error", reject);
    request.end(body);
  });
}

/** What a client sees of an answer: status, content type, trailer-* headers and the decoded body. */
function seen(answer: Answer) {
  const encoding = answer.headers["content-encoding"];
  const body = encoding === "gzip" ? gunzipSync(answer.body) : encoding === "br" ? brotliDecompressSync(answer.body) : answer.body;
  const trailers = Object.fromEntries(Object.entries(answer.headers).filter(([name]) => name.startsWith("trailer-")));
  return { status: answer.status, contentType: answer.headers["content-type"], trailers, body: body.toString("latin1") };
}

const json = { "content-type": "application/json" };
const proto = { "content-type": "application/proto" };

const cases: [string, string, string | Buffer, Record<string, string>][] = [
  ["SayHello", "SayHello", '{"name":"connect"}', json],
  ["SaveState", "SaveState", '{"storeName":"state_demo","states":[{"key":"k1","value":"aGk="}]}', json],
  ["GetState found", "GetState", '{"storeName":"state_demo","key":"k1"}', json],
  ["GetState with charset", "GetState", '{"storeName":"state_demo","key":"k1"}', { "content-type": "application/json; charset=utf-8" }],
  ["GetState missing", "GetState", '{"storeName":"state_demo","key":"nothing"}', json],
  ["an unknown store", "GetState", '{"storeName":"nope","key":"k"}', json],
  ["a stale etag (details)", "SaveState", '{"storeName":"state_demo","states":[{"key":"k1","value":"eA==","etag":{"value":"7"}}]}', json],
  ["broken JSON", "GetState", '{"storeName":"state_demo",', json],
  ["unknown fields", "GetState", '{"storeName":"state_demo","key":"k1","bogus":1}', json],
  ["invalid UTF-8", "GetState", Buffer.from('{"storeName":"state_demo","key":"\xff"}', "latin1"), json],
  ["a bad timeout", "GetState", '{"storeName":"state_demo","key":"k1"}', { ...json, "connect-timeout-ms": "soon" }],
  ["a timeout", "GetState", '{"storeName":"state_demo","key":"k1"}', { ...json, "connect-timeout-ms": "5000" }],
  ["binary GetState", "GetState", Buffer.from("\x0a\x0astate_demo\x12\x02k1", "latin1"), proto],
  ["broken binary", "GetState", Buffer.from("\x0a\xff", "latin1"), proto],
  // Binary bodies are decoded by the generated codecs when the table has them; what they refuse, Connect-ES refuses alike.
  ["binary SayHello", "SayHello", Buffer.from("\x0a\x07connect", "latin1"), proto],
  ["binary with an unknown field", "GetState", Buffer.from("\x0a\x0astate_demo\x12\x02k1\xf8\x06\x01", "latin1"), proto],
  ["binary with a wrong wire type", "GetState", Buffer.from("\x08\x01\x12\x02k1", "latin1"), proto],
  ["binary with a truncated varint", "GetState", Buffer.from("\x0a\x0astate_demo\x18\xff", "latin1"), proto],
  ["binary with invalid UTF-8", "GetState", Buffer.from("\x0a\x0astate_demo\x12\x01\xff", "latin1"), proto],
  ["binary SaveState", "SaveState", Buffer.from("\x0a\x0astate_demo\x12\x07\x0a\x02k2\x12\x01x", "latin1"), proto],
  ["binary InvokeService without a target", "InvokeService", Buffer.from("\x0a\x01b\x1a\x07\x0a\x05hello", "latin1"), proto],
  ["GetNextId", "GetNextId", '{"storeName":"sequencer_demo","key":"ids"}', json],
];

describe("the Connect unary path answers as Connect-ES does", () => {
  it.each(cases)("%s", async (_name, rpc, body, headers) => {
    const fast = await post(rpc, body, headers);
    const viaConnectEs = await post(rpc, body, { ...headers, "accept-encoding": "br" });
    const expected = seen(viaConnectEs);
    if (rpc === "GetNextId") {
      // Each call takes the next id: the second answer is one more than the first.
      const [first, second] = [JSON.parse(seen(fast).body).nextId, JSON.parse(expected.body).nextId];
      expect(BigInt(second) - BigInt(first)).toBe(1n);
      expect({ ...seen(fast), body: "" }).toEqual({ ...expected, body: "" });
      return;
    }
    expect(seen(fast)).toEqual(expected);
  });

  it("gzips a large answer when the client accepts gzip, as Connect-ES does", async () => {
    const value = Buffer.alloc(4096, "v").toString("base64");
    await post("SaveState", JSON.stringify({ storeName: "state_demo", states: [{ key: "big", value }] }), json);
    const fast = await post("GetState", '{"storeName":"state_demo","key":"big"}', { ...json, "accept-encoding": "gzip" });
    expect(fast.headers["content-encoding"]).toBe("gzip");
    expect(JSON.parse(gunzipSync(fast.body).toString()).data).toBe(value);
    const small = await post("SayHello", '{"name":"x"}', { ...json, "accept-encoding": "gzip" });
    expect([small.headers["content-encoding"], small.body.toString()]).toEqual([undefined, '{"hello":"greetings, x"}']);
  });
});

describe("what the Connect unary path takes", () => {
  const path = new ConnectUnaryPath({
    routes: runtimeUnaryDispatch({} as never),
    pipeline: new Pipeline(),
    maxReceiveMessageBytes: 1024,
    jsonOptions: {},
  });
  const getState = "/spec.proto.runtime.v1.Runtime/GetState";
  const takes = (method: string, url: string, headers: http.IncomingHttpHeaders) => {
    const taken = path.takes({ method, url, headers });
    return taken === undefined ? "connect-es" : `${taken.binary ? "binary" : "json"}${taken.gzip ? "+gzip" : ""}`;
  };
  const plain = { "content-type": "application/json", "content-length": "10" };

  it("takes plain unary POSTs of known rpcs with a length within the limit", () => {
    expect(takes("POST", getState, plain)).toBe("json");
    expect(takes("POST", getState, { ...plain, "content-type": "application/proto" })).toBe("binary");
    expect(takes("POST", getState, { ...plain, "accept-encoding": "gzip, br" })).toBe("json+gzip");
    expect(takes("POST", getState, { ...plain, "connect-protocol-version": "1" })).toBe("json");
  });

  it("leaves everything else to Connect-ES", () => {
    expect(takes("GET", getState, plain)).toBe("connect-es");
    expect(takes("POST", `${getState}?x=1`, plain)).toBe("connect-es");
    expect(takes("POST", "/spec.proto.runtime.v1.Runtime/SubscribeConfiguration", plain)).toBe("connect-es");
    expect(takes("POST", getState, { ...plain, "content-type": "application/grpc-web+proto" })).toBe("connect-es");
    expect(takes("POST", getState, { ...plain, "content-encoding": "gzip" })).toBe("connect-es");
    expect(takes("POST", getState, { ...plain, "accept-encoding": "br, gzip" })).toBe("connect-es");
    expect(takes("POST", getState, { ...plain, origin: "http://example.test" })).toBe("connect-es");
    expect(takes("POST", getState, { ...plain, "connect-protocol-version": "2" })).toBe("connect-es");
    expect(takes("POST", getState, { "content-type": "application/json" })).toBe("connect-es");
    expect(takes("POST", getState, { ...plain, "content-length": "1025" })).toBe("connect-es");
  });
});
