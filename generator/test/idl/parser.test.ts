import { parseIdl, SpecError } from "../../src/idl";
import { parseError } from "./fixtures";

const FILE = "spec/components/state.cap";

describe("syntax errors stop at the first, with file:line:col", () => {
  test("a misspelled member keyword", () => {
    expect(parseError("capability state as StateStore {\n  /// Reads.\n  opertion get()\n}\n")).toBe(
      `${FILE}:3:3: expected 'operation', 'feature', 'error', 'message', 'union', 'enum', 'callback', 'metadata' or 'serves', found 'opertion'`,
    );
  });

  test.each([
    ["top level", "capabilty state as S {}", "1:1: expected 'capability', 'adapter', 'metadata' or 'error', found 'capabilty'"],
    ["missing interface name", "capability state {\n}", "1:18: expected 'as' and the interface name (like 'capability state as StateStore'), found '{'"],
    ["unclosed block", "capability state as S {\n  operation get()\n", "3:1: expected '}', found end of file"],
    ["parameter list", "capability s as S {\n  operation get(a: string b: string)\n}", "2:27: expected ',' or ')', found 'b'"],
    ["generic without <", "capability s as S {\n  operation get() returns list\n}", "3:1: expected '<' after 'list', found '}'"],
    ["map needs two types", "capability s as S {\n  operation get() returns map<string>\n}", "2:37: expected ',', found '>'"],
    ["error without status", "capability s as S {\n  error Gone\n}", "3:1: expected '=', found '}'"],
    ["dotted name where a simple one is due", "capability a.b as S {}", "1:12: expected a capability name, found 'a.b'"],
    ["adapter type must be a string", "adapter redis implements state {}", '1:9: expected the adapter type as a string (like "redis"), found \'redis\''],
    ["adapter body", 'adapter "redis" implements state {\n  feature ETAG\n}', "2:3: expected 'features' or 'metadata', found 'feature'"],
    ["metadata default", "metadata M {\n  a: string = localhost\n}", "2:15: expected a default value (a string, number, true or false), found 'localhost'"],
    ["alias needs a string", "metadata M {\n  a: string alias host\n}", "2:19: expected the alias as a string after 'alias', found 'host'"],
    ["unterminated string", 'adapter "redis\nimplements', '1:9: unterminated string (strings end with \'"\' on the same line)'],
    ["bad escape", 'adapter "a\\qb" implements s {}', "1:11: invalid escape '\\q' in string (expected \\\", \\\\, \\/, \\b, \\f, \\n, \\r, \\t or \\uXXXX)"],
    ["unquoted duration", "metadata M {\n  t: duration = 5s\n}", '2:17: invalid number \'5s\' (numbers are decimal, like 10, -1 or 0.5; write durations as strings, like "5s")'],
    ["stray character", "capability s as S {\n  operation get() returns string;\n}", "2:33: unexpected character ';'"],
    ["trailing dot", "capability s as S {\n  serves Runtime.\n}", "2:17: expected a name after '.' in 'Runtime.'"],
    ["doc comment after code", "capability s as S {\n  operation get() /// Reads.\n  operation set()\n}", "2:19: doc comment '///' after code on the same line; put it on its own line before what it documents (use '//' for a trailing remark)"],
    ["doc comment documenting nothing", "capability s as S {\n  operation get()\n  /// Orphan.\n}", "3:3: doc comment '///' documents nothing (found '}' after it); put it directly before a declaration or use '//'"],
    ["doc comment inside a signature", "capability s as S {\n  operation get(\n    /// The key.\n    key: string)\n}", "3:5: expected a parameter name, found doc comment '///'"],
  ])("%s", (_name, text, expected) => {
    expect(parseError(text)).toBe(`${FILE}:${expected}`);
  });

  test("the error is a SpecError with its parts", () => {
    try {
      parseIdl("spec/components/x.cap", "\n\n   oops");
      throw new Error("no error");
    } catch (e) {
      expect(e).toBeInstanceOf(SpecError);
      expect(e).toMatchObject({ file: "spec/components/x.cap", line: 3, column: 4, detail: "expected 'capability', 'adapter', 'metadata' or 'error', found 'oops'" });
    }
  });
});

describe("what parses", () => {
  test("doc comments: consecutive lines joined, one space stripped, '//' and '////' ignored", () => {
    const ast = parseIdl(
      FILE,
      [
        "// licence header",
        "///  Two spaces keep one.",
        "///",
        "/// Third line.",
        "//// not a doc",
        "capability s as S {",
        "  /// Reads.",
        "  operation get()",
        "  operation set()",
        "}",
      ].join("\r\n"),
    );
    const cap = ast.capabilities[0]!;
    expect(cap.doc).toBe(" Two spaces keep one.\n\nThird line.");
    expect(cap.operations.map((o) => [o.name.text, o.doc])).toEqual([
      ["get", "Reads."],
      ["set", ""],
    ]);
  });

  test("keywords are contextual: they can name fields and parameters", () => {
    const ast = parseIdl(
      FILE,
      `capability s as S {
  callback Handler(message: string, operation: string)
  message M { message: string error?: string returns: string }
}
metadata G {
  include: bool
  required: bool required
  alias: string alias "a"
  sensitive: string
}`,
    );
    expect(ast.capabilities[0]!.callbacks[0]!.params.map((p) => p.name.text)).toEqual(["message", "operation"]);
    expect(ast.capabilities[0]!.messages[0]!.fields.map((f) => [f.name.text, f.optional])).toEqual([
      ["message", false],
      ["error", true],
      ["returns", false],
    ]);
    const items = ast.metadataGroups[0]!.items;
    expect(items.map((i) => (i.kind === "field" ? [i.name.text, i.required.length, i.aliases.map((a) => a.text)] : i.kind))).toEqual([
      ["include", 0, []],
      ["required", 1, []],
      ["alias", 0, ["a"]],
      ["sensitive", 0, []],
    ]);
  });

  test("strings are JSON-style; numbers may be negative or decimal", () => {
    const ast = parseIdl(FILE, `metadata G {\n  a: string = "x\\"y\\u00e9\\n" alias "k"\n  b: int = -12\n  c: number = 0.25\n}`);
    const [a, b, c] = ast.metadataGroups[0]!.items;
    expect(a).toMatchObject({ default: { kind: "string", value: 'x"y\u00e9\n' } });
    expect(b).toMatchObject({ default: { kind: "number", value: -12, raw: "-12" } });
    expect(c).toMatchObject({ default: { kind: "number", value: 0.25 } });
  });

  test("nested generic types and locations", () => {
    const ast = parseIdl(FILE, "capability s as S {\n  operation get(m: map<string, list<.a.B>>) returns stream<bytes>\n}");
    const op = ast.capabilities[0]!.operations[0]!;
    expect(op.params[0]!.type).toEqual({
      kind: "map",
      loc: { file: FILE, line: 2, column: 20 },
      key: { kind: "name", name: "string", loc: { file: FILE, line: 2, column: 24 } },
      value: { kind: "list", loc: { file: FILE, line: 2, column: 32 }, element: { kind: "name", name: ".a.B", loc: { file: FILE, line: 2, column: 37 } } },
    });
    expect(op.returns).toMatchObject({ kind: "stream", element: { kind: "name", name: "bytes" } });
  });
});
