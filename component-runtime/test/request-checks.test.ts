import {
  ComponentError,
  InvalidRequestError,
  checkBounds,
  checkExactlyOne,
  checkPattern,
  guardRequests,
  type RequestChecks,
} from "../src";

describe("request check helpers", () => {
  it("checkBounds: inclusive bounds, whole numbers where the field is an integer", () => {
    const problems: string[] = [];
    checkBounds(-1, "request.ttl", -1, undefined, true, problems);
    checkBounds(5, "request.size", 1, 5, true, problems);
    expect(problems).toEqual([]);
    checkBounds(-2, "request.ttl", -1, undefined, true, problems);
    checkBounds(6, "request.size", 1, 5, true, problems);
    checkBounds(1.5, "request.size", 1, 5, true, problems);
    checkBounds(Number.NaN, "request.ratio", 0, 1, false, problems);
    checkBounds(0.5, "request.ratio", 0, 1, false, problems);
    expect(problems).toEqual([
      "request.ttl must be at least -1, not -2",
      "request.size must be at most 5, not 6",
      "request.size must be an integer, not 1.5",
      "request.ratio must be a number, not NaN",
    ]);
  });

  it("checkPattern and checkExactlyOne name the path and what was given", () => {
    const problems: string[] = [];
    checkPattern("orders", "request.key", "^[a-z]+$", problems);
    checkPattern("Orders 1", "request.key", "^[a-z]+$", problems);
    checkExactlyOne({ set: {} }, "request.operations[0]", ["set", "delete"], problems);
    checkExactlyOne({}, "request.operations[1]", ["set", "delete"], problems);
    checkExactlyOne({ set: {}, delete: {} }, "request.operations[2]", ["set", "delete"], problems);
    expect(problems).toEqual([
      `request.key must match /^[a-z]+$/, not "Orders 1"`,
      "request.operations[1] must give exactly one of 'set' and 'delete', not none",
      "request.operations[2] must give exactly one of 'set' and 'delete', not 'set' and 'delete'",
    ]);
  });
});

describe("guardRequests", () => {
  class Store {
    readonly features = new Set<never>();
    readonly seen: number[] = [];
    async put(request: { size: number }): Promise<number> {
      this.seen.push(request.size);
      return request.size;
    }
    async get(): Promise<string> {
      return "unchecked";
    }
  }
  const checks: RequestChecks = {
    put(args) {
      const problems: string[] = [];
      checkBounds((args[0] as { size: number }).size, "request.size", 1, undefined, true, problems);
      return problems;
    },
    missing: () => ["never run: the component has no such method"],
  };

  it("refuses a call that breaks its check with INVALID_ARGUMENT, before the method runs; the same object keeps the rest", async () => {
    const store = new Store();
    const guarded = guardRequests(store, checks);
    expect(guarded).toBe(store);
    expect(await guarded.put({ size: 3 })).toBe(3);
    const error = await guarded.put({ size: 0 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidRequestError);
    expect(error).toBeInstanceOf(ComponentError);
    expect(error).toMatchObject({ status: "INVALID_ARGUMENT", errorName: "InvalidArgument", operation: "put", problems: ["request.size must be at least 1, not 0"] });
    expect((error as Error).message).toBe("put: request.size must be at least 1, not 0");
    // The sentinel: only the valid call reached the method.
    expect(store.seen).toEqual([3]);
    expect(await guarded.get()).toBe("unchecked");
    expect("missing" in guarded).toBe(false);
  });

  it("refuses a streaming operation through its stream: the first read throws", async () => {
    const streaming = {
      features: new Set<never>(),
      async *read(request: { size: number }): AsyncIterable<number> {
        yield request.size;
      },
    };
    guardRequests(streaming, { read: checks.put! });
    const read: number[] = [];
    for await (const n of streaming.read({ size: 2 })) read.push(n);
    expect(read).toEqual([2]);
    const failure = await (async () => {
      for await (const n of streaming.read({ size: 0 })) read.push(n);
    })().catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(InvalidRequestError);
    expect(read).toEqual([2]);
  });

  it("checks a component's synchronous form alike: a refusal throws, and the method never runs", () => {
    const seen: number[] = [];
    const component = {
      features: new Set<never>(),
      async put(request: { size: number }): Promise<number> {
        return request.size;
      },
      sync: {
        put: (request: { size: number }): number => {
          seen.push(request.size);
          return request.size;
        },
      },
    };
    guardRequests(component, checks);
    expect(component.sync.put({ size: 4 })).toBe(4);
    expect(() => component.sync.put({ size: 0 })).toThrow(InvalidRequestError);
    expect(seen).toEqual([4]);
  });
});
