import * as http from "node:http";
import { BinaryReader } from "@bufbuild/protobuf/wire";
import * as net from "node:net";
import type { AddressInfo } from "node:net";

/** A request the service received, body as bytes. */
export interface ServiceRequest {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

/** An HTTP service on a free loopback port, recording what it receives. */
export interface TestService {
  readonly url: string;
  readonly port: number;
  readonly received: ServiceRequest[];
  /** Requests whose connection closed before the service answered. */
  readonly abandoned: ServiceRequest[];
  close(): Promise<void>;
}

/** Starts a service answering with `answer` once each request's body is read. */
export async function startService(
  answer: (request: ServiceRequest, response: http.ServerResponse) => void,
  port = 0,
): Promise<TestService> {
  const received: ServiceRequest[] = [];
  const abandoned: ServiceRequest[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const request = { method: req.method ?? "", url: req.url ?? "", headers: req.headers, body: Buffer.concat(chunks) };
      received.push(request);
      res.once("close", () => {
        if (!res.writableFinished) abandoned.push(request);
      });
      answer(request, res);
    });
  });
  await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
  const bound = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${bound}`,
    port: bound,
    received,
    abandoned,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** An echo: status 200, the request's method, path, content type and body back, plus x-echo headers. */
export function echo(request: ServiceRequest, response: http.ServerResponse): void {
  response.setHeader("content-type", request.headers["content-type"] ?? "application/octet-stream");
  response.setHeader("x-echo-method", request.method);
  response.setHeader("x-echo-url", request.url);
  response.end(request.body);
}

/** A loopback port where nothing listens: bound, read and released. */
export async function closedPort(): Promise<number> {
  const server = http.createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Decodes a google.rpc.ErrorInfo (reason 1, domain 2, metadata 3) from its bytes. */
export function decodeErrorInfo(bytes: Uint8Array): { reason: string; domain: string; metadata: Record<string, string> } {
  const reader = new BinaryReader(bytes);
  const info = { reason: "", domain: "", metadata: {} as Record<string, string> };
  while (reader.pos < reader.len) {
    const [field] = reader.tag();
    if (field === 1) info.reason = reader.string();
    else if (field === 2) info.domain = reader.string();
    else {
      const entry = new BinaryReader(reader.bytes());
      let key = "";
      let value = "";
      while (entry.pos < entry.len) {
        const [f] = entry.tag();
        if (f === 1) key = entry.string();
        else value = entry.string();
      }
      info.metadata[key] = value;
    }
  }
  return info;
}

export interface RawRequest {
  readonly method: string;
  readonly path: string;
  readonly headers: Record<string, string>;
  readonly body: Buffer;
  /** Which accepted connection carried it (0, 1, ...). */
  readonly connection: number;
}

export interface RawServer {
  readonly url: string;
  readonly requests: RawRequest[];
  /** Connections accepted so far. */
  accepted(): number;
  /** Connections open now. */
  open(): number;
  close(): Promise<void>;
}

/** A TCP server reading HTTP/1.1 requests (content-length bodies) and answering each through `answer` on the raw socket. */
export async function rawServer(answer: (request: RawRequest, socket: net.Socket) => void): Promise<RawServer> {
  const requests: RawRequest[] = [];
  const sockets = new Set<net.Socket>();
  let accepted = 0;
  const server = net.createServer((socket) => {
    const connection = accepted++;
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
    socket.on("error", () => undefined);
    let pending = Buffer.alloc(0);
    socket.on("data", (chunk: Buffer) => {
      pending = Buffer.concat([pending, chunk]);
      for (;;) {
        const end = pending.indexOf("\r\n\r\n");
        if (end < 0) return;
        const [line, ...fields] = pending.toString("latin1", 0, end).split("\r\n");
        const headers: Record<string, string> = {};
        for (const field of fields) {
          const colon = field.indexOf(":");
          headers[field.slice(0, colon).toLowerCase()] = field.slice(colon + 1).trim();
        }
        const length = Number(headers["content-length"] ?? 0);
        if (pending.length < end + 4 + length) return;
        const [method, path] = line!.split(" ");
        const request = { method: method!, path: path!, headers, body: pending.subarray(end + 4, end + 4 + length), connection };
        pending = pending.subarray(end + 4 + length);
        requests.push(request);
        answer(request, socket);
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as net.AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    accepted: () => accepted,
    open: () => sockets.size,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
