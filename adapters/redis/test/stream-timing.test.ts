import { ScanSchedule } from "../src/scan-schedule";
import { StreamTiming } from "../src/stream-timing";

describe("stream timing", () => {
  it("waits redeliveryBackoff after the first delivery, doubling per delivery up to maxRedeliveryBackoff", () => {
    const timing = new StreamTiming(100, 1_000);
    expect([1, 2, 3, 4, 5, 50].map((n) => timing.backoffMs(n))).toEqual([100, 200, 400, 800, 1_000, 1_000]);
  });

  it("touches held messages well within the shortest backoff, and never claims before three touches were missed", () => {
    const timing = new StreamTiming(100, 10_000);
    expect(timing.heartbeatMs).toBe(33);
    expect(timing.minIdleMs).toBe(99);
    // A backoff shorter than that is raised to it: a message being handled must never look idle.
    const tiny = new StreamTiming(0, 0);
    expect(tiny.backoffMs(1)).toBe(tiny.minIdleMs);
    expect(tiny.minIdleMs).toBeGreaterThan(0);
    expect(new StreamTiming(60_000, 60_000).heartbeatMs).toBe(1_000);
  });
});

describe("scan schedule", () => {
  it("scans at once, then at each wanted time, never two at once, and periodically otherwise", async () => {
    const started = Date.now();
    const at: number[] = [];
    let running = 0;
    let overlapped = false;
    const schedule = new ScanSchedule(async () => {
      overlapped ||= running > 0;
      running++;
      at.push(Date.now() - started);
      await new Promise((resolve) => setTimeout(resolve, 20));
      running--;
    }, 500);
    schedule.start();
    // Wanted during the first scan: served once it ends.
    schedule.want(5);
    schedule.want(60);
    while (at.length < 4 && Date.now() - started < 3_000) await new Promise((resolve) => setTimeout(resolve, 10));
    schedule.stop();
    expect(overlapped).toBe(false);
    // Node timers may fire a millisecond early.
    expect(at[1]).toBeGreaterThanOrEqual(18);
    expect(at[1]).toBeLessThan(250);
    expect(at[2]).toBeGreaterThanOrEqual(58);
    expect(at[2]).toBeLessThan(350);
    // Then the periodic scan, 500 ms after the last one ended.
    expect(at[3]).toBeGreaterThanOrEqual(at[2] + 498);
  });
});
