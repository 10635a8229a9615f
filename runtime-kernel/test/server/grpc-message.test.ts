import { grpcPercentEncode } from "../../src/server/grpc-message";

describe("grpcPercentEncode", () => {
  it("keeps printable ASCII, escapes '%' and everything outside it", () => {
    expect(grpcPercentEncode("state store a: b/c?d=1 100%")).toBe("state store a: b/c?d=1 100%25");
    expect(grpcPercentEncode("é\n")).toBe("%C3%A9%0A");
  });

  it("escapes a space at either end, which HTTP/2 would drop the whole field for", () => {
    expect(grpcPercentEncode(" Resolution note: ")).toBe("%20Resolution note:%20");
    expect(grpcPercentEncode(" ")).toBe("%20");
    expect(decodeURIComponent(grpcPercentEncode(" a b "))).toBe(" a b ");
  });
});
