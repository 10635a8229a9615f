/** The API and runtime tokens' comparison (server/auth.ts): only the exact token matches, whatever the lengths. */
import { tokenMatcher } from "../../src/server/auth";

describe("tokenMatcher", () => {
  it("accepts the token and refuses any other, shorter, longer, empty or missing", () => {
    const matches = tokenMatcher("s3cret-tökén");
    expect(matches("s3cret-tökén")).toBe(true);
    for (const other of ["s3cret-tökén ", "s3cret-tökéN", "s3cret-töké", "s3cret-tokén", "", "x".repeat(1000)]) {
      expect([other, matches(other)]).toEqual([other, false]);
    }
    expect(matches(undefined)).toBe(false);
    expect(tokenMatcher("")("")).toBe(true);
    expect(tokenMatcher("")("a")).toBe(false);
  });
});
