import { Deadlines, type DeadlineEntry } from "../../src/server/grpc/deadlines";

/** An entry that counts how often it was told, and resolves `passed` the first time. */
function entry(name: string): DeadlineEntry & { name: string; told: number; passed: Promise<void> } {
  let resolve!: () => void;
  const passed = new Promise<void>((r) => (resolve = r));
  return {
    name,
    told: 0,
    passed,
    deadlineAt: 0,
    deadlinePrev: undefined,
    deadlineNext: undefined,
    deadlinePassed() {
      this.told++;
      resolve();
    },
  };
}

const timeouts = () => process.getActiveResourcesInfo().filter((kind) => kind === "Timeout").length;

describe("Deadlines: one timer for the deadlines of the calls in flight", () => {
  it("tells each passed deadline once, entries with the same deadline too", async () => {
    const deadlines = new Deadlines();
    const at = performance.now() + 5;
    const [a, b, c] = [entry("a"), entry("b"), entry("c")];
    deadlines.add(a, at);
    deadlines.add(b, at);
    deadlines.add(c, at + 5);
    await Promise.all([a.passed, b.passed, c.passed]);
    deadlines.remove(a);
    expect([a.told, b.told, c.told]).toEqual([1, 1, 1]);
  });

  it("never tells an entry removed before its deadline (the later entry is the sentinel)", async () => {
    const deadlines = new Deadlines();
    const [removed, sentinel] = [entry("removed"), entry("sentinel")];
    deadlines.add(removed, performance.now() + 2);
    deadlines.add(sentinel, performance.now() + 20);
    deadlines.remove(removed);
    deadlines.remove(removed);
    await sentinel.passed;
    expect([removed.told, sentinel.told]).toEqual([0, 1]);
  });

  it("re-arms for a deadline earlier than the one it waits for", async () => {
    const deadlines = new Deadlines();
    const [late, early] = [entry("late"), entry("early")];
    deadlines.add(late, performance.now() + 600_000);
    deadlines.add(early, performance.now() + 5);
    await early.passed;
    expect(late.told).toBe(0);
    deadlines.remove(late);
  });

  it("keeps the entries in between linked when one in the middle leaves", async () => {
    const deadlines = new Deadlines();
    const entries = ["a", "b", "c", "d"].map(entry);
    const at = performance.now() + 5;
    for (const e of entries) deadlines.add(e, at);
    deadlines.remove(entries[1]!);
    deadlines.remove(entries[3]!);
    await Promise.all([entries[0]!.passed, entries[2]!.passed]);
    expect(entries.map((e) => e.told)).toEqual([1, 0, 1, 0]);
  });

  it("keeps its timer from holding the process open (a timer of the test's own is the sentinel)", () => {
    const deadlines = new Deadlines();
    const before = timeouts();
    const [a, b] = [entry("a"), entry("b")];
    deadlines.add(a, performance.now() + 60_000);
    deadlines.add(b, performance.now() + 30_000);
    const sentinel = setTimeout(() => undefined, 60_000);
    expect(timeouts()).toBe(before + 1);
    clearTimeout(sentinel);
    deadlines.remove(b);
    deadlines.remove(a);
  });

  it("tells a deadline of a call added after the list was empty", async () => {
    const deadlines = new Deadlines();
    const first = entry("first");
    deadlines.add(first, performance.now() + 60_000);
    deadlines.remove(first);
    const second = entry("second");
    deadlines.add(second, performance.now() + 5);
    await second.passed;
    expect([first.told, second.told]).toEqual([0, 1]);
  });
});
