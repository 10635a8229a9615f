import * as http from "node:http";
import type { AddressInfo } from "node:net";

/** The secrets the demo config's local.file store reads (written beside the config). */
export const demoSecrets = {
  "db-password": "s3cret",
  "api-key": "key-0001",
  "db-user-pass": { username: "demo", password: "pa55" },
};

/**
 * One component of every kind under the names Layotto's examples use, on free
 * ports. Relative paths (rootDir, secretsFile) resolve in the temp folder that
 * startRuntime writes this into; pass `files: demoFiles`. Without bindingUrl the
 * http binding points at port 1, for tests that never call it.
 */
export function demoConfig(options: { bindingUrl?: string; appId?: string } = {}): string {
  return `app: { id: ${options.appId ?? "e2e"} }
api: { address: 127.0.0.1:0 }
actuator: { address: 127.0.0.1:0 }
components:
  hello:
    quick_start_demo: { type: helloworld, metadata: { hello: greetings } }
  state:
    state_demo: { type: in-memory }
  lock:
    lock_demo: { type: in-memory }
  sequencer:
    sequencer_demo: { type: in-memory }
  configuration:
    config_demo: { type: in-memory }
  pubsub:
    pub_subs_demo: { type: in-memory }
  file:
    file_demo: { type: local, metadata: { rootDir: files } }
  secret:
    secret_demo: { type: local.file, metadata: { secretsFile: secrets.json } }
  binding:
    http: { type: http, metadata: { url: "${options.bindingUrl ?? "http://127.0.0.1:1"}" } }
`;
}

export const demoFiles = { "secrets.json": JSON.stringify(demoSecrets) };

/** A request the binding backend received. */
export interface ReceivedRequest {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** A small HTTP server on a free loopback port for the http binding to call. */
export interface HttpBackend {
  readonly url: string;
  readonly received: ReceivedRequest[];
  close(): Promise<void>;
}

/** Starts an HTTP server whose answers come from `answer`; it records every request. */
export async function startHttpBackend(
  answer: (request: ReceivedRequest, response: http.ServerResponse) => void,
): Promise<HttpBackend> {
  const received: ReceivedRequest[] = [];
  const server = http.createServer((req, res) => {
    let body = "";
    req.setEncoding("utf8");
    req.on("data", (chunk: string) => (body += chunk));
    req.on("end", () => {
      const request = { method: req.method ?? "", url: req.url ?? "", headers: req.headers, body };
      received.push(request);
      answer(request, res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    received,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** GET an actuator path: its HTTP status and JSON body. */
export async function actuator(baseUrl: string, path: string): Promise<{ status: number; body: unknown }> {
  const response = await fetch(`${baseUrl}${path}`);
  return { status: response.status, body: await response.json() };
}

/** POSTs Connect JSON to an rpc of the Runtime service, as the README's curl does. */
export async function postConnectJson(
  apiUrl: string,
  rpc: string,
  body: string | object,
): Promise<{ status: number; contentType: string | null; text: string }> {
  const response = await fetch(`${apiUrl}/spec.proto.runtime.v1.Runtime/${rpc}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
  return { status: response.status, contentType: response.headers.get("content-type"), text: await response.text() };
}

export { eventually } from "@ottavo/test-support";
