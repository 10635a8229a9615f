import { conformanceSuites } from "@ottavo/conformance";

// The types make every feature of the IDL a key of its suite; this makes sure no key is an empty list.
describe.each(Object.values(conformanceSuites))("the $capability suite", (suite) => {
  it("has cases for the core and for every feature the IDL gives the capability", () => {
    const cases: Record<string, readonly { name: string }[]> = suite.cases;
    expect(Object.keys(cases).sort()).toEqual(["core", ...suite.features].sort());
    const empty = Object.entries(cases).filter(([, list]) => list.length === 0).map(([group]) => group);
    expect(empty).toEqual([]);
  });

  it("names each case once per group", () => {
    for (const list of Object.values(suite.cases as Record<string, readonly { name: string }[]>)) {
      const names = list.map((c) => c.name);
      expect(new Set(names).size).toBe(names.length);
    }
  });
});
