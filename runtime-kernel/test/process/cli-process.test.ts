import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { existsSync, mkdtempSync, writeFileSync } from "node:fs";
import * as http2 from "node:http2";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { createDefaultRegistry } from "../../src/registry/adapter-registry";

/** These tests run the built command, as a user does (dist/ottavo.js: make build, or jest's global setup, makes it). */
const cli = path.resolve(__dirname, "..", "..", "dist", "ottavo.js");
const repoRoot = path.resolve(__dirname, "..", "..", "..");

interface Running {
  child: ChildProcessWithoutNullStreams;
  stdout: () => string;
  stderr: () => string;
  exit: Promise<number | null>;
}

const started: ChildProcessWithoutNullStreams[] = [];

function runCli(args: string[]): Running {
  if (!existsSync(cli)) throw new Error(`${cli} is missing: run npx tsc -b runtime-kernel first`);
  const child = spawn(process.execPath, [cli, ...args], { cwd: repoRoot });
  started.push(child);
  let out = "";
  let err = "";
  child.stdout.on("data", (chunk: Buffer) => (out += chunk.toString()));
  child.stderr.on("data", (chunk: Buffer) => (err += chunk.toString()));
  const exit = new Promise<number | null>((resolve) => child.once("close", (code) => resolve(code)));
  return { child, stdout: () => out, stderr: () => err, exit };
}

/** Resolves with the API and actuator ports once the ready line is printed; rejects if the process ends first. */
function readyPorts(running: Running): Promise<{ api: number; actuator: number }> {
  return new Promise((resolve, reject) => {
    const check = () => {
      const match = /serving the API on 127\.0\.0\.1:(\d+) and the actuator on 127\.0\.0\.1:(\d+) \(\d+ components?\)/.exec(
        running.stdout(),
      );
      if (match) {
        running.child.stdout.off("data", check);
        resolve({ api: Number(match[1]), actuator: Number(match[2]) });
      }
    };
    running.child.stdout.on("data", check);
    running.exit.then((code) => reject(new Error(`exited with ${code} before ready: ${running.stderr()}`)));
  });
}

/** Frames on one connection are handled in order: once a ping is answered, the frames sent before it reached the server. */
async function reachedServer(session: http2.ClientHttp2Session): Promise<void> {
  if (session.connecting) await new Promise((resolve) => session.once("connect", resolve));
  await new Promise<void>((resolve, reject) => session.ping((error) => (error ? reject(error) : resolve())));
}

function tempFile(name: string, text: string): string {
  const file = path.join(mkdtempSync(path.join(tmpdir(), "ottavo-cli-")), name);
  writeFileSync(file, text);
  return file;
}

afterAll(() => {
  for (const child of started) if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
});

describe("the ottavo command", () => {
  it("refuses a broken YAML config with every problem on stderr and exit code 1", async () => {
    const file = tempFile(
      "broken.yaml",
      `app: { id: test }
api: { address: 127.0.0.1:0 }
actuator: { address: 127.0.0.1:0 }
components:
  state:
    orders: { type: in-memroy }
  secret:
    secrets: { type: local.file }
  binding:
    http: { type: http, metadata: { url: http://127.0.0.1:1, responseTimeout: whenever } }
`,
    );
    const running = runCli(["run", "-c", file]);
    // Which backends a build ships grows over time; the sentence around the list does not.
    const knownStateTypes = createDefaultRegistry().types("state").join(", ");
    expect(knownStateTypes).toMatch(/^(.+, )?in-memory(, .+)?$/);
    expect(await running.exit).toBe(1);
    expect(running.stderr()).toBe(
      [
        `${file}: state component 'orders' (type 'in-memroy'): unknown type; known state types: ${knownStateTypes}`,
        `${file}: secret component 'secrets' (type 'local.file'): missing required metadata field 'secretsFile'`,
        `${file}: binding component 'http' (type 'http'): metadata field 'responseTimeout' must be a duration such as "5s", "250ms" or "1m30s", or milliseconds`,
        "",
      ].join("\n"),
    );
    expect(running.stdout()).toBe("");
  });

  it("names the file as given on the command line (Layotto config.json)", async () => {
    const file = tempFile(
      "config.json",
      JSON.stringify({
        servers: [
          {
            listeners: [
              {
                name: "grpc",
                address: "127.0.0.1:0",
                filter_chains: [
                  {
                    filters: [
                      {
                        type: "grpc",
                        config: { server_name: "runtime", grpc_config: { secret_store: { secrets: { type: "local.file", metadata: {} } } } },
                      },
                    ],
                  },
                ],
              },
            ],
          },
        ],
      }),
    );
    const running = runCli(["run", "--config", path.relative(repoRoot, file)]);
    expect(await running.exit).toBe(1);
    expect(running.stderr()).toBe(
      `${path.relative(repoRoot, file)}: secret component 'secrets' (type 'local.file'): missing required metadata field 'secretsFile'\n`,
    );
  });

  it("answers usage errors with exit code 2 and --help with exit code 0", async () => {
    const none = runCli([]);
    expect(await none.exit).toBe(2);
    expect(none.stderr()).toMatch(/^ottavo: missing command\n\nUsage: ottavo run/);
    const bad = runCli(["run", "--shutdown-timeout", "10"]);
    expect(await bad.exit).toBe(2);
    expect(bad.stderr()).toMatch(/^ottavo: --shutdown-timeout '10' is not a duration such as 10s, 500ms or 1m\n/);
    const help = runCli(["--help"]);
    expect(await help.exit).toBe(0);
    expect(help.stdout()).toMatch(/^Usage: ottavo run \[-c <config file>\]/);
  });

  it("on SIGTERM reports readiness DOWN, lets an in-flight call finish, then exits 0", async () => {
    const file = tempFile(
      "drain.yaml",
      `app: { id: drain }
api: { address: 127.0.0.1:0 }
actuator: { address: 127.0.0.1:0 }
components:
  hello:
    quick_start_demo: { type: helloworld, metadata: { hello: greetings } }
  state:
    state_demo: { type: in-memory }
`,
    );
    const running = runCli(["run", "-c", file, "--shutdown-timeout", "20s"]);
    const { api, actuator } = await readyPorts(running);
    expect(running.stdout()).toBe(`ottavo: serving the API on 127.0.0.1:${api} and the actuator on 127.0.0.1:${actuator} (2 components)\n`);

    const readiness = () => fetch(`http://127.0.0.1:${actuator}/actuator/health/readiness`);
    const before = await readiness();
    expect(before.status).toBe(200);
    expect(await before.json()).toEqual({
      status: "UP",
      components: {
        runtime_startup: { status: "UP", details: { reason: "" } },
        "hello.quick_start_demo": { status: "UP" },
        "state.state_demo": { status: "UP" },
      },
    });

    // A Connect call over HTTP/2 whose body is only half sent: it is in flight until we finish it.
    const session = http2.connect(`http://127.0.0.1:${api}`);
    const stream = session.request({
      ":method": "POST",
      ":path": "/spec.proto.runtime.v1.Runtime/SayHello",
      "content-type": "application/json",
    });
    let answer = "";
    stream.on("data", (chunk: Buffer) => (answer += chunk.toString()));
    const answered = new Promise<void>((resolve) => stream.on("end", resolve));
    stream.write('{"service_name": "quick_start_demo", "name":');
    await reachedServer(session);

    running.child.kill("SIGTERM");
    let during: Response;
    for (;;) {
      during = await readiness();
      if (during.status !== 200) break;
    }
    expect(during.status).toBe(503);
    expect(await during.json()).toEqual({
      status: "DOWN",
      components: { runtime_startup: { status: "DOWN", details: { reason: "shutting down" } } },
    });
    const liveness = await fetch(`http://127.0.0.1:${actuator}/actuator/health/liveness`);
    expect(liveness.status).toBe(200);

    stream.end(' "drain"}');
    await answered;
    session.close();
    expect(JSON.parse(answer)).toEqual({ hello: "greetings, drain" });
    expect(await running.exit).toBe(0);
    expect(running.stdout()).toContain("ottavo: SIGTERM received; finishing in-flight calls (up to 20000 ms)\nottavo: stopped\n");
    expect(running.stderr()).toBe("");
  });

  it("exits at once on a second signal during the drain", async () => {
    const file = tempFile("twice.yaml", "api: { address: 127.0.0.1:0 }\nactuator: { address: 127.0.0.1:0 }\n");
    const running = runCli(["run", "-c", file, "--shutdown-timeout", "1m"]);
    const { api } = await readyPorts(running);
    expect(running.stdout()).toContain("(0 components)");
    const session = http2.connect(`http://127.0.0.1:${api}`);
    session.on("error", () => undefined);
    const stream = session.request({ ":method": "POST", ":path": "/spec.proto.runtime.v1.Runtime/SayHello", "content-type": "application/json" });
    stream.on("error", () => undefined);
    stream.write("{");
    await reachedServer(session);
    running.child.kill("SIGINT");
    await new Promise<void>((resolve) => {
      const check = () => running.stdout().includes("SIGINT received") && resolve();
      running.child.stdout.on("data", check);
      check();
    });
    running.child.kill("SIGINT");
    expect(await running.exit).toBe(1);
    expect(running.stderr()).toBe("ottavo: SIGINT again; exiting at once\n");
    session.destroy();
  });
});
