/**
 * A real browser (Debian's chromium, headless, driven by playwright-core) loads
 * a page from one origin and calls the runtime on another: SaveState, GetState
 * and the server-streaming GetFile through the generated client over connect-web
 * (gRPC-Web and Connect), and through Google's grpc-web client in its default
 * text mode (application/grpc-web-text). CORS is configured for the page's
 * origin only: a page from any other origin is refused.
 */
import { createServer, type Server } from "node:http";
import * as path from "node:path";
import type { AddressInfo } from "node:net";
import { build } from "esbuild";
import { chromium, type Browser, type Page } from "playwright-core";
import { startRuntime, type RunningRuntime } from "@ottavo/test-support";
import type { Outcome, Protocol } from "./browser/page";

/** make test-services installs Debian's chromium when it is missing. */
const chromiumPath = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const repoRoot = path.resolve(__dirname, "..", "..", "..");
const fileSize = 250 * 1024;

let pageServers: { server: Server; origin: string }[] = [];
let runtime: RunningRuntime;
let browser: Browser;

/** Serves the page and its bundled script on a free loopback port: one origin. */
async function servePage(script: string): Promise<{ server: Server; origin: string }> {
  const server = createServer((request, response) => {
    if (request.url === "/page.js") {
      response.writeHead(200, { "content-type": "text/javascript" });
      response.end(script);
    } else {
      response.writeHead(200, { "content-type": "text/html" });
      response.end('<!doctype html><html><head><script src="/page.js"></script></head><body>ottavo browser test</body></html>');
    }
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { server, origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

beforeAll(async () => {
  const bundle = await build({
    entryPoints: [path.join(__dirname, "browser", "page.ts")],
    bundle: true,
    format: "iife",
    platform: "browser",
    write: false,
    alias: { "@ottavo/generated": path.join(repoRoot, "generated") },
    logLevel: "silent",
  });
  const script = bundle.outputFiles[0]!.text;
  pageServers = [await servePage(script), await servePage(script)];
  runtime = await startRuntime({
    config: `
api:
  address: 127.0.0.1:0
  cors:
    allowedOrigins: ["${pageServers[0]!.origin}"]
actuator: { address: 127.0.0.1:0 }
components:
  state:
    state_demo: { type: in-memory }
  file:
    file_demo: { type: local, metadata: { rootDir: files } }
`,
    files: { "files/big.bin": new Uint8Array(fileSize).fill(7) },
  });
  browser = await chromium.launch({ executablePath: chromiumPath, args: ["--no-sandbox"] });
}, 60_000);

afterAll(async () => {
  await browser?.close();
  for (const { server } of pageServers) await new Promise((resolve) => server.close(resolve));
  if (runtime) expect(await runtime.stop()).toBe(0);
});

async function pageAt(origin: string): Promise<Page> {
  const page = await browser.newPage();
  await page.goto(`${origin}/`);
  await page.waitForFunction(() => "runCalls" in globalThis);
  return page;
}

async function runCalls(page: Page, protocol: Protocol, key: string): Promise<Outcome> {
  return page.evaluate(
    ([apiUrl, p, k]) => (globalThis as unknown as { runCalls(a: string, p: string, k: string): Promise<Outcome> }).runCalls(apiUrl, p, k),
    [runtime.apiUrl, protocol, key] as const,
  );
}

it.each<Protocol>(["grpc-web", "connect", "grpc-web-text"])(
  "a page on another origin saves and reads state and reads a server stream over %s",
  async (protocol) => {
    const page = await pageAt(pageServers[0]!.origin);
    const outcome = await runCalls(page, protocol, `browser-${protocol}`);
    expect(outcome).toEqual({ saved: true, read: `from ${protocol}`, etag: "1", chunks: [102400, 102400, 51200] });
    await page.close();
  },
  30_000,
);

it("a page on an origin the config does not allow cannot call", async () => {
  const page = await pageAt(pageServers[1]!.origin);
  for (const protocol of ["grpc-web", "connect", "grpc-web-text"] as const) {
    const outcome = await runCalls(page, protocol, "refused");
    expect(outcome.error).toBeDefined();
    expect(outcome.saved).toBeUndefined();
  }
  await page.close();
}, 30_000);
