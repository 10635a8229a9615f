/**
 * Time in conformance cases: real, short durations. Whatever can be observed is
 * polled against a deadline (a fast backend passes fast, a slow one still gets
 * its full allowance); only what cannot be observed, an absence or a lease that
 * must survive a point in time, waits a fixed, short while.
 */

/** Resolves after ms milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Polls check every everyMs until it answers true; rejects, naming what was
 * awaited, when withinMs pass first. A check that throws fails at once. `what`
 * may be a function, to describe the state at the moment of failure.
 */
export async function waitFor(
  what: string | (() => string),
  withinMs: number,
  check: () => boolean | Promise<boolean>,
  everyMs = 50,
): Promise<void> {
  const started = Date.now();
  const deadline = started + withinMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() >= deadline) {
      const described = typeof what === "string" ? what : what();
      throw new Error(`${described}: still not so after ${Date.now() - started} ms (allowed ${withinMs} ms)`);
    }
    await sleep(Math.min(everyMs, Math.max(deadline - Date.now(), 1)));
  }
}

/**
 * Checks, every everyMs for forMs, that check still answers true; rejects,
 * naming what should have held and when it stopped, the first time it does not.
 */
export async function holdsFor(
  what: string,
  forMs: number,
  check: () => boolean | Promise<boolean>,
  everyMs = 100,
): Promise<void> {
  const started = Date.now();
  const end = started + forMs;
  for (;;) {
    if (!(await check())) throw new Error(`${what}: stopped holding after ${Date.now() - started} ms (should hold ${forMs} ms)`);
    if (Date.now() >= end) return;
    await sleep(Math.min(everyMs, Math.max(end - Date.now(), 1)));
  }
}
