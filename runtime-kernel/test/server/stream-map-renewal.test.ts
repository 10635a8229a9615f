import * as http2 from "node:http2";
import type { AddressInfo } from "node:net";
import { sessionState, streamMapRenewal } from "../../src/server/stream-map-renewal";

/**
 * A server whose sessions renew node:http2's stream map every `every` streams,
 * holding each stream's answer until the test releases it.
 */
async function holdingServer(every: number) {
  const sessions: http2.ServerHttp2Session[] = [];
  const held: http2.ServerHttp2Stream[] = [];
  const closed: number[] = [];
  const server = http2.createServer();
  server.on("session", (session) => {
    sessions.push(session);
    const renew = streamMapRenewal(session, every);
    session.on("stream", (stream) => {
      renew();
      held.push(stream);
      stream.on("close", () => closed.push(stream.id!));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const client = http2.connect(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
  const close = async () => {
    client.destroy();
    await new Promise((resolve) => server.close(resolve));
  };
  return { sessions, held, closed, client, close };
}

/** Opens `count` streams and waits until the server holds them all. */
async function open(client: http2.ClientHttp2Session, held: http2.ServerHttp2Stream[], count: number) {
  const target = held.length + count;
  const answers = Array.from({ length: count }, (_, index) => {
    const request = client.request({ ":method": "POST", ":path": `/call/${index}` });
    request.end();
    return new Promise<string>((resolve) => {
      let status = "";
      request.on("response", (headers) => (status = String(headers[":status"])));
      request.on("close", () => resolve(status === "" ? `reset ${request.rstCode}` : status));
      request.resume();
    });
  });
  while (held.length < target) await new Promise((resolve) => setImmediate(resolve));
  return answers;
}

describe("the renewal of node:http2's stream map", () => {
  it("finds node:http2's map of a session's open streams on this Node (without it, a long-lived session's calls are promoted garbage)", async () => {
    const { sessions, held, client, close } = await holdingServer(1_000);
    try {
      const answers = await open(client, held, 3);
      const state = sessionState(sessions[0]);
      expect(state).toBeDefined();
      expect([...state!.streams.values()]).toEqual(held);
      for (const stream of held) stream.respond({ ":status": 200 }, { endStream: true });
      expect(await Promise.all(answers)).toEqual(["200", "200", "200"]);
    } finally {
      await close();
    }
  });

  it("copies the map every so many streams, and node:http2 still knows every open stream: each is answered", async () => {
    const { sessions, held, client, close } = await holdingServer(4);
    try {
      const before = sessionState(sessions[0] ?? (await waitForSession(sessions)))!.streams;
      const answers = await open(client, held, 10);
      const after = sessionState(sessions[0])!.streams;
      expect(after).not.toBe(before);
      expect(after.size).toBe(10);
      for (const stream of held) stream.respond({ ":status": 200 }, { endStream: true });
      expect(await Promise.all(answers)).toEqual(Array(10).fill("200"));
      // Closed streams leave the copy as they left the original.
      while (sessionState(sessions[0])!.streams.size > 0) await new Promise((resolve) => setImmediate(resolve));
    } finally {
      await close();
    }
  });

  it("a session destroyed with streams open after renewals closes every one of them (node:http2 walks the renewed map)", async () => {
    const { sessions, held, closed, client, close } = await holdingServer(3);
    try {
      const answers = await open(client, held, 7);
      sessions[0].destroy();
      const outcomes = await Promise.all(answers);
      expect(outcomes).toHaveLength(7);
      expect(outcomes.every((outcome) => outcome !== "200")).toBe(true);
      expect(closed.sort((a, b) => a - b)).toEqual(held.map((stream) => stream.id).sort((a, b) => a! - b!));
    } finally {
      await close();
    }
  });
});

async function waitForSession(sessions: http2.ServerHttp2Session[]): Promise<http2.ServerHttp2Session> {
  while (sessions.length === 0) await new Promise((resolve) => setImmediate(resolve));
  return sessions[0];
}
