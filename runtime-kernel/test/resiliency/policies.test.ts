import { getEventListeners } from "node:events";
import { CircuitBreaker } from "../../src/resiliency/circuit-breaker";
import { backoffMs, PolicyRunner, type Operation } from "../../src/resiliency/policy-runner";
import type { RetryPolicy } from "../../src/resiliency/resiliency-spec";

/** A clock the test moves by hand. */
function clock() {
  let now = 1000;
  return { now: () => now, advance: (ms: number) => (now += ms) };
}

const policy = { name: "cb", maxRequests: 1, intervalMs: 0, timeoutMs: 5000, tripAfter: 2 };

describe("circuit breaker", () => {
  it("opens after more consecutive failures than tripAfter, refuses calls until its timeout, then lets one probe through", () => {
    const time = clock();
    const breaker = new CircuitBreaker(policy, time.now);
    for (let i = 0; i < 3; i++) {
      expect(breaker.allow()).toBe(true);
      breaker.failed();
    }
    expect(breaker.current).toBe("open");
    expect(breaker.allow()).toBe(false);
    time.advance(4999);
    expect(breaker.allow()).toBe(false);
    time.advance(1);
    expect(breaker.current).toBe("half-open");
    expect(breaker.allow()).toBe(true);
    // maxRequests 1: a second call while the probe runs is refused.
    expect(breaker.allow()).toBe(false);
    breaker.succeeded();
    expect(breaker.current).toBe("closed");
    expect(breaker.allow()).toBe(true);
  });

  it("opens again when the probe fails, and a success in between resets the count", () => {
    const time = clock();
    const breaker = new CircuitBreaker(policy, time.now);
    breaker.failed();
    breaker.failed();
    breaker.succeeded();
    breaker.failed();
    breaker.failed();
    expect(breaker.current).toBe("closed");
    breaker.failed();
    expect(breaker.current).toBe("open");
    time.advance(5000);
    expect(breaker.allow()).toBe(true);
    breaker.failed();
    expect(breaker.current).toBe("open");
    expect(breaker.allow()).toBe(false);
  });

  it("forgets failures every interval while closed", () => {
    const time = clock();
    const breaker = new CircuitBreaker({ ...policy, intervalMs: 100 }, time.now);
    breaker.failed();
    breaker.failed();
    time.advance(100);
    expect(breaker.allow()).toBe(true);
    breaker.failed();
    breaker.failed();
    expect(breaker.current).toBe("closed");
  });
});

const retry = (over: Partial<RetryPolicy> = {}): RetryPolicy => ({
  name: "r",
  policy: "constant",
  durationMs: 1,
  initialIntervalMs: 1,
  maxIntervalMs: 8,
  maxRetries: 3,
  ...over,
});

/** An operation whose attempts return the given verdicts in turn, counting them. */
function scripted(verdicts: Array<"ok" | "retry" | "fail">): Operation<number> & { attempts: number } {
  const op = {
    attempts: 0,
    attempt: async () => op.attempts++,
    judgeValue: (value: number) => verdicts[value] ?? "ok",
    judgeError: () => "fail" as const,
  };
  return op;
}

describe("policy runner", () => {
  const signal = new AbortController().signal;

  it("retries what is judged retryable, up to maxRetries, and returns the last answer", async () => {
    const flaky = scripted(["retry", "retry", "ok"]);
    expect(await new PolicyRunner("t", { retry: retry() }).run(flaky, signal)).toBe(2);
    expect(flaky.attempts).toBe(3);
    const dead = scripted(["retry", "retry", "retry", "retry", "retry"]);
    expect(await new PolicyRunner("t", { retry: retry({ maxRetries: 2 }) }).run(dead, signal)).toBe(2);
    expect(dead.attempts).toBe(3);
  });

  it("does not retry a failure judged final, nor without a retry policy", async () => {
    const final = scripted(["fail", "ok"]);
    await new PolicyRunner("t", { retry: retry() }).run(final, signal);
    expect(final.attempts).toBe(1);
    const bare = scripted(["retry", "ok"]);
    await new PolicyRunner("t", {}).run(bare, signal);
    expect(bare.attempts).toBe(1);
  });

  it("stops retrying when the caller goes away, with the caller's reason", async () => {
    const caller = new AbortController();
    const op = { ...scripted([]), judgeValue: () => "retry" as const };
    const running = new PolicyRunner("t", { retry: retry({ maxRetries: -1, durationMs: 60_000 }) }).run(op, caller.signal);
    caller.abort(new Error("caller left"));
    await expect(running).rejects.toThrow("caller left");
  });

  it("fails fast once the breaker is open, naming it", async () => {
    const runner = new PolicyRunner("b", { circuitBreaker: { ...policy, tripAfter: 0 } });
    await runner.run(scripted(["fail"]), signal);
    const untouched = scripted([]);
    await expect(runner.run(untouched, signal)).rejects.toThrow(
      "circuit breaker 'cb' is open for 'b': calls fail fast until a probe succeeds",
    );
    expect(untouched.attempts).toBe(0);
  });

  it("with whenOpen 'wait', an attempt waits for the open breaker's probe instead of failing; others wait for the probe's outcome", async () => {
    const runner = new PolicyRunner("app", { circuitBreaker: { ...policy, tripAfter: 0, timeoutMs: 30 } });
    await runner.run(scripted(["fail"]), signal);
    let waits = 0;
    const options = { whenOpen: "wait" as const, onWait: () => waits++ };
    // The probe: its attempt starts once the breaker's timeout has passed, and fails when the test says.
    let started!: () => void;
    const probeStarted = new Promise<void>((resolve) => (started = resolve));
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const probe = runner.run(
      { attempt: async () => (started(), await gate, 0), judgeValue: () => "fail", judgeError: () => "fail" },
      signal,
      options,
    );
    await probeStarted;
    // While the probe is out, another attempt waits for its outcome; it fails, the breaker opens again, and the
    // second attempt waits for the next probe, which it is.
    const second = scripted(["ok"]);
    const secondRun = runner.run(second, signal, options);
    release();
    await probe;
    expect(second.attempts).toBe(0);
    await secondRun;
    expect(second.attempts).toBe(1);
    expect(waits).toBe(2);
    // Closed again: no wait.
    await runner.run(scripted(["ok"]), signal, options);
    expect(waits).toBe(2);
  });

  it("a wait ends with the reason of waitsUntil, and an abandoned probe is given back", async () => {
    const runner = new PolicyRunner("app", { circuitBreaker: { ...policy, tripAfter: 0, timeoutMs: 60_000 } });
    await runner.run(scripted(["fail"]), signal);
    const stop = new AbortController();
    const waiting = runner.run(scripted([]), signal, { whenOpen: "wait", waitsUntil: stop.signal });
    stop.abort(new Error("stopping"));
    await expect(waiting).rejects.toThrow("stopping");

    const breaker = new CircuitBreaker({ ...policy, tripAfter: 0, timeoutMs: 0 });
    breaker.failed();
    expect(breaker.allow()).toBe(true); // the probe
    expect(breaker.allow()).toBe(false);
    breaker.abandoned(); // its caller went away: no outcome
    expect(breaker.current).toBe("half-open");
    expect(breaker.allow()).toBe(true);
  });

  it("leaves no listener on the caller's signal or waitsUntil once a run ends (they may live as long as the process)", async () => {
    const caller = new AbortController().signal;
    const stopping = new AbortController().signal;
    const runner = new PolicyRunner("app", { timeoutMs: 1000, retry: retry({ maxRetries: 2 }), circuitBreaker: { ...policy, tripAfter: 10 } });
    for (let i = 0; i < 3; i++) await runner.run(scripted(["retry", "retry", "ok"]), caller, { whenOpen: "wait", waitsUntil: stopping });
    expect([getEventListeners(caller, "abort").length, getEventListeners(stopping, "abort").length]).toEqual([0, 0]);
  });

  it("backs off constantly, or doubling up to maxInterval", () => {
    expect([0, 1, 2].map((n) => backoffMs(retry({ durationMs: 7 }), n))).toEqual([7, 7, 7]);
    expect([0, 1, 2, 3, 4].map((n) => backoffMs(retry({ policy: "exponential", initialIntervalMs: 1, maxIntervalMs: 8 }), n))).toEqual([
      1, 2, 4, 8, 8,
    ]);
  });
});
