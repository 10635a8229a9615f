import { isDuration, parseDuration } from "../../src/idl";

describe("Go-style durations", () => {
  test.each([
    ["5s", 5000],
    ["100ms", 100],
    ["1m30s", 90_000],
    ["1.5h", 5_400_000],
    ["250us", 0.25],
    ["0", 0],
    ["2h45m0.5s", 9_900_500],
    ["1\u00b5s", 0.001],
  ])("%s is %d ms", (text, ms) => {
    expect(parseDuration(text)).toBeCloseTo(ms);
  });

  test.each(["", "5", "5 s", " 5s", "s", "1d", "1m30", ".5s", "1.s", "5S", "-2s", "+1s"])("%j is not a duration", (text) => {
    expect(isDuration(text)).toBe(false);
  });

  test("a bare integer means milliseconds only when asked (runtime config values)", () => {
    expect(parseDuration("250")).toBeUndefined();
    expect(parseDuration("250", { bareMilliseconds: true })).toBe(250);
  });
});
