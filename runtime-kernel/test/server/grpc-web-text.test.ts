import { decodeBase64, isGrpcWebText } from "../../src/server/grpc-web-text";

async function decodeAll(pieces: readonly string[]): Promise<string> {
  async function* chunks() {
    for (const piece of pieces) yield Buffer.from(piece, "latin1");
  }
  const out: Buffer[] = [];
  for await (const bytes of decodeBase64(chunks())) out.push(Buffer.from(bytes));
  return Buffer.concat(out).toString("latin1");
}

describe("gRPC-Web text decoding", () => {
  it("decodes base64 split anywhere, including inside a 4-character group", async () => {
    const text = Buffer.from("\x00\x00\x00\x00\x12hello, grpc-web-text!").toString("base64");
    for (let cut = 1; cut < text.length; cut++) {
      expect(await decodeAll([text.slice(0, cut), text.slice(cut)])).toBe("\x00\x00\x00\x00\x12hello, grpc-web-text!");
    }
  });

  it("decodes several padded pieces one after the other, and ignores whitespace", async () => {
    const pieces = ["a", "bc", "defg"].map((p) => Buffer.from(p).toString("base64"));
    expect(await decodeAll([pieces.join(""), "\r\n"])).toBe("abcdefg");
    expect(await decodeAll([pieces[0]! + pieces[1]!.slice(0, 2), pieces[1]!.slice(2) + pieces[2]!])).toBe("abcdefg");
  });

  it("recognises the text content types only", () => {
    expect(["application/grpc-web-text", "application/grpc-web-text+proto", "application/grpc-web-text; charset=x"].map(isGrpcWebText)).toEqual([true, true, true]);
    expect(["application/grpc-web", "application/grpc-web+proto", "application/grpc", "application/grpc-web-textual"].map(isGrpcWebText)).toEqual([false, false, false, false]);
  });
});
