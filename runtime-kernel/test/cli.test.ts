import * as path from "node:path";
import { defaultConfigFile, parseArgs } from "../src/cli";

describe("ottavo's command line", () => {
  it("runs the embedded default config, found beside the package rather than in the cwd", () => {
    expect(parseArgs(["run"])).toEqual({ kind: "run", configFile: defaultConfigFile, shutdownTimeoutMs: 10_000 });
    expect(defaultConfigFile).toBe(path.resolve(__dirname, "..", "..", "configs", "default.yaml"));
  });

  it.each([
    [["run", "-c", "c.json"], "c.json", 10_000],
    [["run", "--config", "c.yaml"], "c.yaml", 10_000],
    [["run", "--config=c.yaml", "--shutdown-timeout=500ms"], "c.yaml", 500],
    [["run", "--shutdown-timeout", "1m", "-c", "x.yml"], "x.yml", 60_000],
  ])("reads %j", (args, configFile, shutdownTimeoutMs) => {
    expect(parseArgs(args)).toEqual({ kind: "run", configFile, shutdownTimeoutMs });
  });

  it.each([
    [[], "missing command"],
    [["serve"], "unknown command 'serve'"],
    [["run", "-c"], "-c needs a config file"],
    [["run", "--verbose"], "unknown option '--verbose'"],
    [["run", "--shutdown-timeout"], "--shutdown-timeout needs a duration, e.g. 10s"],
    [["run", "--shutdown-timeout", "10"], "--shutdown-timeout '10' is not a duration such as 10s, 500ms or 1m"],
  ])("refuses %j", (args, message) => {
    expect(parseArgs(args)).toEqual({ kind: "usage-error", message });
  });

  it("takes the log level with -l or --log-level, Layotto's names included", () => {
    expect(parseArgs(["run", "-l", "debug"])).toEqual({ kind: "run", configFile: defaultConfigFile, shutdownTimeoutMs: 10_000, logLevel: "debug" });
    expect(parseArgs(["run", "--log-level=warning"])).toMatchObject({ kind: "run", logLevel: "warn" });
    expect(parseArgs(["run", "--log-level", "TRACE"])).toMatchObject({ kind: "run", logLevel: "trace" });
    expect(parseArgs(["run", "-l", "loud"])).toEqual({ kind: "usage-error", message: "-l needs a level: error, warn, info, debug, trace" });
    expect(parseArgs(["run", "-l"])).toEqual({ kind: "usage-error", message: "-l needs a level: error, warn, info, debug, trace" });
  });

  it("knows help and version", () => {
    expect(parseArgs(["--help"])).toEqual({ kind: "help" });
    expect(parseArgs(["run", "-h"])).toEqual({ kind: "help" });
    expect(parseArgs(["--version"])).toEqual({ kind: "version" });
  });
});
