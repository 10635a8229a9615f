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
  // Fake timers: the test checks the order and spacing of scans, not this machine's speed.
  beforeEach(() => jest.useFakeTimers({ now: 0 }));
  afterEach(() => jest.useRealTimers());

  function recordingSchedule(periodicMs: number) {
    const at: number[] = [];
    let running = 0;
    let overlapped = false;
    const schedule = new ScanSchedule(async () => {
      overlapped ||= running > 0;
      running++;
      at.push(Date.now());
      await new Promise((resolve) => setTimeout(resolve, 20)); // each scan takes 20 ms
      running--;
    }, periodicMs);
    return { schedule, at, overlapped: () => overlapped };
  }

  it("scans at once, then at each wanted time, never two at once, and periodically otherwise", async () => {
    const { schedule, at, overlapped } = recordingSchedule(500);
    schedule.start();
    schedule.want(5); // due while the first scan runs: served just after it ends (a 0 ms timer fires after 1 ms)
    schedule.want(60);
    await jest.advanceTimersByTimeAsync(1_000);
    schedule.stop();
    expect(overlapped()).toBe(false);
    // Then the periodic scan, 500 ms after the last one ended (at 80).
    expect(at).toEqual([0, 21, 60, 580]);
  });

  it("serves a want that falls due as a scan starts with that scan, not a second one", async () => {
    const { schedule, at } = recordingSchedule(500);
    schedule.start();
    await jest.advanceTimersByTimeAsync(100);
    schedule.want(50);
    schedule.want(51); // a timer may fire a millisecond early: one scan serves both
    await jest.advanceTimersByTimeAsync(400);
    schedule.stop();
    expect(at).toEqual([0, 150]);
  });

  it("stops: no scan after stop()", async () => {
    const { schedule, at } = recordingSchedule(100);
    schedule.start();
    await jest.advanceTimersByTimeAsync(30);
    schedule.stop();
    await jest.advanceTimersByTimeAsync(1_000);
    expect(at).toEqual([0]);
  });
});
