import { ConfigError } from "../../src/config/config-error";
import { parseLayottoConfig } from "../../src/config/layotto-config";
import { parseOttavoConfig } from "../../src/config/ottavo-config";
import { defaultServerLimits } from "../../src/config/server-limits";

function problemsOf(text: string): readonly string[] {
  try {
    parseOttavoConfig(text, "limits.yaml", "/configs");
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  throw new Error("expected a ConfigError");
}

describe("the limits section", () => {
  it("defaults to the documented values when absent", () => {
    const config = parseOttavoConfig("app: { id: a }\n", "limits.yaml", "/configs");
    expect(config.limits).toEqual(defaultServerLimits);
    expect(defaultServerLimits.maxReceiveMessageBytes).toBe(4 * 1024 * 1024);
  });

  it("reads counts as integers and timeouts as durations, keeping defaults for the rest", () => {
    const config = parseOttavoConfig(
      "limits: { maxReceiveMessageBytes: 1048576, maxBulkItems: 50, headersTimeout: 2s, idleTimeout: 1m, keepAliveTime: 1500 }\n",
      "limits.yaml",
      "/configs",
    );
    expect(config.limits).toEqual({
      ...defaultServerLimits,
      maxReceiveMessageBytes: 1_048_576,
      maxBulkItems: 50,
      headersTimeoutMs: 2_000,
      idleTimeoutMs: 60_000,
      keepAliveTimeMs: 1_500,
    });
  });

  it("names each bad value and unknown key", () => {
    expect(problemsOf("limits: { maxBulkItems: 0, maxHeaderBytes: 1.5, idleTimeout: soon, maxFoo: 1 }\n")).toEqual([
      "limits.yaml: 'limits.maxBulkItems' must be a whole number from 1 to 4294967295, not 0",
      "limits.yaml: 'limits.maxHeaderBytes' must be a whole number from 1 to 4294967295, not 1.5",
      `limits.yaml: 'limits.idleTimeout' must be a positive duration such as "10s", "500ms" or "5m", not "soon"`,
      expect.stringContaining("limits.yaml: unknown key 'limits.maxFoo'; known: maxReceiveMessageBytes"),
    ]);
    expect(problemsOf("limits: 5\n")).toEqual([expect.stringContaining("'limits' must be a map of limits")]);
  });

  it("is read from grpc_config.limits in Layotto's config.json", () => {
    const text = JSON.stringify({
      servers: [{ listeners: [{ address: "127.0.0.1:34904", filter_chains: [{ filters: [{ type: "grpc", config: { server_name: "runtime", grpc_config: { limits: { maxTransactionOperations: 7 } } } }] }] }] }],
    });
    const config = parseLayottoConfig(text, "config.json", "/configs");
    expect(config.limits.maxTransactionOperations).toBe(7);
    expect(config.warnings).toEqual([]);
  });
});
