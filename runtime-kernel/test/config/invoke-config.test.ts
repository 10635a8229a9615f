import { ConfigError } from "../../src/config/config-error";
import { parseLayottoConfig } from "../../src/config/layotto-config";
import { parseOttavoConfig } from "../../src/config/ottavo-config";

function problemsOf(parse: () => unknown): readonly string[] {
  try {
    parse();
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  throw new Error("expected a ConfigError");
}

const yaml = (invoke: string) => `app: { id: a }\n${invoke}`;

describe("Ottavo YAML 'invoke'", () => {
  it("reads HTTP targets with their timeout, and the runtime-to-runtime token", () => {
    const config = parseOttavoConfig(
      yaml(`invoke:
  targets:
    HelloService:1.0: { url: http://127.0.0.1:8889 }
    slow: { url: "http://127.0.0.1:8890/base", timeout: 2s }
  token: s3cret
`),
      "o.yaml",
      "/",
    );
    expect(config.invoke).toEqual({
      targets: [
        { id: "HelloService:1.0", url: "http://127.0.0.1:8889", idHeader: false },
        { id: "slow", url: "http://127.0.0.1:8890/base", idHeader: false, timeoutMs: 2000 },
      ],
      token: "s3cret",
    });
  });

  it("names each bad field", () => {
    expect(
      problemsOf(() =>
        parseOttavoConfig(
          yaml(`invoke:
  targets:
    a: { url: "https://x" }
    b: { url: "not a url", timeout: -1 }
    c: { url: http://x, retries: 3 }
    d: nope
  token: ""
  other: 1
`),
          "o.yaml",
          "/",
        ),
      ),
    ).toEqual([
      "o.yaml: unknown key 'invoke.other'; known: targets, token, advertiseAddress",
      "o.yaml: 'invoke.token' must be a non-empty string",
      "o.yaml: 'invoke.targets.a.url' 'https://x': only http:// is supported",
      "o.yaml: 'invoke.targets.b.url' 'not a url' is not a URL; expected e.g. http://127.0.0.1:8889",
      "o.yaml: 'invoke.targets.b.timeout' must be a positive duration such as \"3s\" or \"250ms\"",
      "o.yaml: unknown key 'invoke.targets.c.retries'; known: url, timeout",
      "o.yaml: 'invoke.targets.d' must be a map with url (and optionally timeout)",
    ]);
  });

  it("reads invoke.advertiseAddress as host:port or a host alone (the API's port then)", () => {
    const advertised = (value: string) => parseOttavoConfig(yaml(`invoke: { advertiseAddress: "${value}" }\n`), "o.yaml", "/").invoke.advertiseAddress;
    expect(advertised("10.0.0.5:34904")).toEqual({ host: "10.0.0.5", port: 34904 });
    expect(advertised("runtime-b.internal")).toEqual({ host: "runtime-b.internal" });
    expect(advertised("[fd00::5]:34904")).toEqual({ host: "fd00::5", port: 34904 });
    expect(advertised("fd00::5")).toEqual({ host: "fd00::5" });
  });

  it("refuses a wildcard, empty, port-0 or Unix socket advertise address", () => {
    const problems = (value: string) => problemsOf(() => parseOttavoConfig(yaml(`invoke: { advertiseAddress: "${value}" }\n`), "o.yaml", "/"));
    expect(problems("0.0.0.0:34904")).toEqual([
      "o.yaml: 'invoke.advertiseAddress' '0.0.0.0:34904': 0.0.0.0 means every interface, which other runtimes cannot dial; advertise this machine's address (e.g. its IP)",
    ]);
    expect(problems("0.0.0.0")[0]).toContain("0.0.0.0 means every interface");
    expect(problems("[::]:34904")[0]).toContain(":: means every interface");
    expect(problems("::")[0]).toContain(":: means every interface");
    expect(problems(":34904")[0]).toContain("an empty host means every interface");
    expect(problems("10.0.0.5:0")[0]).toContain("port 0 is no port other runtimes can dial");
    expect(problems("unix:/tmp/api.sock")[0]).toContain("a Unix socket cannot be reached by other runtimes");
    expect(problems("")).toEqual([
      "o.yaml: 'invoke.advertiseAddress' must be host:port or a host other runtimes can reach this runtime's API at, e.g. 10.0.0.5:34904",
    ]);
  });
});

/** A Layotto config with the given grpc_config.rpcs and more listeners, routers and clusters. */
function layotto(rpcs: unknown, more: { listeners?: unknown[]; routers?: unknown[]; clusters?: unknown[] } = {}): string {
  return JSON.stringify({
    servers: [
      {
        routers: more.routers ?? [],
        listeners: [
          {
            name: "grpc",
            address: "127.0.0.1:34904",
            filter_chains: [{ filters: [{ type: "grpc", config: { server_name: "runtime", grpc_config: { rpcs } } }] }],
          },
          ...(more.listeners ?? []),
        ],
      },
    ],
    cluster_manager: { clusters: more.clusters ?? [] },
  });
}

const channel = (listener: string, extra: object = {}) => ({ mosn: { config: { channel: [{ size: 8, protocol: "http", listener, ...extra }] } } });
const egress = { name: "egress", filter_chains: [{ filters: [{ type: "proxy", config: { router_config_name: "r" } }] }] };

describe("Layotto's grpc_config.rpcs", () => {
  it("follows channel -> listener -> router -> cluster: one target per id header match, a route without one as the fallback", () => {
    const config = parseLayottoConfig(
      layotto(channel("egress"), {
        listeners: [egress],
        routers: [
          {
            router_config_name: "r",
            virtual_hosts: [
              {
                routers: [
                  { match: { headers: [{ name: "id", value: "HelloService:1.0" }] }, route: { cluster_name: "hello" } },
                  { match: { prefix: "/" }, route: { cluster_name: "other" } },
                ],
              },
            ],
          },
        ],
        clusters: [
          { name: "hello", hosts: [{ address: "127.0.0.1:8889" }] },
          { name: "other", hosts: [{ address: "127.0.0.1:8890" }] },
        ],
      }),
      "l.json",
      "/",
    );
    const common = { idHeader: true, timeoutMs: 3000, maxSockets: 8 };
    expect(config.invoke).toEqual({
      targets: [{ id: "HelloService:1.0", url: "http://127.0.0.1:8889", ...common }],
      fallback: { url: "http://127.0.0.1:8890", ...common },
    });
    expect(config.warnings).toEqual([]);
  });

  it("takes a channel listener written host:port as the target of every id", () => {
    const config = parseLayottoConfig(layotto(channel("127.0.0.1:12221")), "l.json", "/");
    expect(config.invoke).toEqual({
      targets: [],
      fallback: { url: "http://127.0.0.1:12221", idHeader: true, timeoutMs: 3000, maxSockets: 8 },
    });
  });

  it("warns about invokers, protocols and callbacks it does not support", () => {
    const config = parseLayottoConfig(
      layotto({ dubbo: {}, mosn: { config: { before_invoke: [{ name: "x" }], channel: [{ protocol: "bolt", listener: "x" }] } } }),
      "l.json",
      "/",
    );
    expect(config.invoke).toEqual({ targets: [] });
    expect(config.warnings).toEqual([
      "l.json: grpc_config.rpcs.dubbo: only Layotto's \"mosn\" invoker is supported; ignored",
      "l.json: grpc_config.rpcs.mosn.config.before_invoke is not supported; ignored",
      "l.json: grpc_config.rpcs.mosn.config.channel[0]: protocol 'bolt' is not supported (only \"http\"); calls to targets it would reach fail",
    ]);
  });

  it("names what is missing in the chain", () => {
    expect(problemsOf(() => parseLayottoConfig(layotto(channel("nowhere")), "l.json", "/"))).toEqual([
      "l.json: grpc_config.rpcs.mosn.config.channel[0].listener 'nowhere' names no listener in servers[0].listeners",
    ]);
    expect(problemsOf(() => parseLayottoConfig(layotto(channel("egress"), { listeners: [egress] }), "l.json", "/"))).toEqual([
      "l.json: grpc_config.rpcs.mosn.config.channel[0]: listener 'egress' has no proxy filter whose router_config_name names one of servers[0].routers",
    ]);
    const routers = [{ router_config_name: "r", virtual_hosts: [{ routers: [{ match: {}, route: { cluster_name: "c" } }] }] }];
    expect(problemsOf(() => parseLayottoConfig(layotto(channel("egress"), { listeners: [egress], routers }), "l.json", "/"))).toEqual([
      "l.json: grpc_config.rpcs.mosn.config.channel[0]: cluster 'c' has no host address (cluster_manager.clusters[].hosts[0].address host:port)",
    ]);
    expect(problemsOf(() => parseLayottoConfig(layotto({ mosn: { config: {} } }), "l.json", "/"))).toEqual([
      "l.json: grpc_config.rpcs.mosn.config.channel must list at least one channel { protocol, listener, size }",
    ]);
  });
});
