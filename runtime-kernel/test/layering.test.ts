import { existsSync, readFileSync, readdirSync } from "node:fs";
import { dirname, join, normalize, relative } from "node:path";

/**
 * Issue 9, items 6 and 8: the package map is in one place and the other configs
 * agree with it; the kernel's folders depend on each other without cycles; and
 * every path docs/architecture.md names exists.
 */
const root = join(__dirname, "..", "..");
const { workspacePackages } = require(join(root, "workspace-packages.js")) as {
  workspacePackages(): { name: string; dir: string; source: string }[];
};

describe("the package map (workspace-packages.js)", () => {
  const packages = workspacePackages();

  it("is what tsconfig.json builds: every workspace is a project reference", () => {
    const references = (JSON.parse(readFileSync(join(root, "tsconfig.json"), "utf8")) as { references: { path: string }[] }).references.map(
      (r) => normalize(r.path),
    );
    for (const { dir } of packages) expect(references).toContain(normalize(dir));
  });

  it("is what tsconfig.tests.json resolves: every package name has a path to its sources", () => {
    const paths = (JSON.parse(readFileSync(join(root, "tsconfig.tests.json"), "utf8")) as { compilerOptions: { paths: Record<string, string[]> } })
      .compilerOptions.paths;
    const resolves = (name: string) =>
      Object.keys(paths).some((pattern) => (pattern.endsWith("*") ? name.startsWith(pattern.slice(0, -1)) || name === pattern.slice(0, -2) : pattern === name));
    for (const { name, dir } of packages) {
      if (dir === "generator" || dir === "test-support") continue; // tests import these by relative path
      expect([name, resolves(name)]).toEqual([name, true]);
    }
  });
});

describe("the kernel's folders", () => {
  const src = join(root, "runtime-kernel", "src");
  const files = (dir: string): string[] =>
    readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? files(join(dir, e.name)) : e.name.endsWith(".ts") ? [join(dir, e.name)] : []));
  const folderOf = (file: string) => {
    const rel = relative(src, file);
    return rel.includes("/") ? rel.split("/")[0] : ".";
  };
  const edges = new Map<string, Set<string>>();
  for (const file of files(src)) {
    for (const match of readFileSync(file, "utf8").matchAll(/from "(\.[^"]+)"/g)) {
      const from = folderOf(file);
      const to = folderOf(join(dirname(file), match[1]));
      if (from !== to) edges.set(from, (edges.get(from) ?? new Set()).add(to));
    }
  }

  /** Folders that reach each other (strongly connected, more than one). */
  function cycles(): string[][] {
    const reach = (start: string) => {
      const seen = new Set<string>();
      const stack = [start];
      while (stack.length > 0) for (const next of edges.get(stack.pop()!) ?? []) if (!seen.has(next)) seen.add(next), stack.push(next);
      return seen;
    };
    const groups = new Map<string, string[]>();
    for (const folder of edges.keys()) {
      const mutual = [...reach(folder)].filter((other) => other !== folder && reach(other).has(folder));
      if (mutual.length > 0) groups.set([folder, ...mutual].sort().join(" <-> "), [folder, ...mutual].sort());
    }
    return [...groups.values()];
  }

  it("have no cycles: shared pieces sit below the folders that use them", () => {
    expect(cycles()).toEqual([]);
  });

  it("handlers, delivery, events and errors are in no cycle (the ones issue 9 named are gone)", () => {
    const cyclic = cycles().flat();
    for (const folder of ["handlers", "delivery", "events", "errors"]) expect([folder, cyclic.includes(folder)]).toEqual([folder, false]);
  });

  it("config imports no other folder of the kernel but resiliency's specs (it is read first, by everything)", () => {
    expect([...(edges.get("config") ?? [])].sort()).toEqual(["resiliency"]);
  });
});

describe("docs/architecture.md", () => {
  const doc = readFileSync(join(root, "docs", "architecture.md"), "utf8");

  it("names only paths that exist", () => {
    const paths = [...doc.matchAll(/`([a-z][\w.-]*\/[\w./<>-]*)`/g)]
      .map((m) => m[1].replace(/\/$/, ""))
      .filter((p) => !p.includes("<") && !p.startsWith("@") && /^(component-runtime|generator|generated|adapters|runtime-kernel|test-support|spec|docs)\b/.test(p));
    expect(paths.length).toBeGreaterThan(30);
    expect(paths.filter((p) => !existsSync(join(root, p)))).toEqual([]);
  });

  it("lists every workspace package in its package table", () => {
    for (const { name, dir } of workspacePackages()) {
      // Backends share one row, `@ottavo/adapter-<backend>`.
      if (/^adapters\/(?!kit$|conformance$)/.test(dir)) continue;
      expect(doc).toContain(`\`${name}\``);
    }
  });
});
