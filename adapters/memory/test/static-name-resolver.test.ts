import { staticNameresolutionAdapter } from "../src/static-name-resolver";

const context = (settings: Record<string, unknown>) => ({ componentName: "table", appId: "a", configDir: "/tmp", settings });

describe("static name resolution", () => {
  it("answers the addresses written in the config's apps table", async () => {
    const table = await staticNameresolutionAdapter.create({}, context({ apps: { b: "127.0.0.1:4001", c: ["10.0.0.1:1", "[::1]:2"] } }));
    expect(await table.resolve({ appId: "b" })).toEqual(["127.0.0.1:4001"]);
    expect(await table.resolve({ appId: "c" })).toEqual(["10.0.0.1:1", "[::1]:2"]);
    expect(await table.resolve({ appId: "d" })).toEqual([]);
    expect([...table.features]).toEqual([]);
  });

  it("names every bad entry", async () => {
    await expect(staticNameresolutionAdapter.create({}, context({ apps: { b: "nohost", c: [], d: 5 } }))).rejects.toThrow(
      "'apps.b' must be host:port or a list of them; 'apps.c' must be host:port or a list of them; 'apps.d' must be host:port or a list of them",
    );
    await expect(staticNameresolutionAdapter.create({}, context({ apps: "b=1" }))).rejects.toThrow(
      "'apps' must be a map of app ids to host:port (or lists of them)",
    );
  });
});
