/**
 * Turns IDL text into tokens. Keywords are not special here: the parser reads
 * them in context, so `message` can still name a field or parameter.
 */
import { SpecError } from "../spec-error";
import type { Loc } from "./model";

export type TokenKind = "name" | "string" | "number" | "punct" | "doc" | "eof";

export interface Token {
  kind: TokenKind;
  /** name: the identifier, possibly dotted (`a.b.C`, `.a.B`); string: the decoded value; number: the source text; doc: the line's text; punct: the character. */
  text: string;
  loc: Loc;
  /** Only for doc tokens: code precedes the `///` on the same line. */
  trailing?: boolean;
}

const SIMPLE_ESCAPES: Record<string, string> = { '"': '"', "\\": "\\", "/": "/", b: "\b", f: "\f", n: "\n", r: "\r", t: "\t" };
const PUNCT = new Set(["{", "}", "(", ")", "<", ">", ",", ":", "=", "?"]);

const isIdentStart = (c: string): boolean => /[A-Za-z_]/.test(c);
const isIdentPart = (c: string): boolean => /[A-Za-z0-9_]/.test(c);
const isDigit = (c: string): boolean => c >= "0" && c <= "9";

export function tokenize(file: string, text: string): Token[] {
  const tokens: Token[] = [];
  let pos = 0;
  let line = 1;
  let lineStart = 0;
  // Whether a non-comment token was already seen on the current line.
  let codeOnLine = false;

  const locAt = (offset: number): Loc => ({ file, line, column: offset - lineStart + 1 });
  const fail = (offset: number, detail: string): never => {
    const loc = locAt(offset);
    throw new SpecError(file, loc.line, loc.column, detail);
  };
  const push = (kind: TokenKind, tokenText: string, start: number): void => {
    tokens.push({ kind, text: tokenText, loc: locAt(start) });
    codeOnLine = true;
  };
  const readIdent = (start: number): number => {
    let end = start;
    while (end < text.length && isIdentPart(text.charAt(end))) end++;
    return end;
  };

  while (pos < text.length) {
    const c = text.charAt(pos);
    if (c === "\n") {
      pos++;
      line++;
      lineStart = pos;
      codeOnLine = false;
      continue;
    }
    if (c === " " || c === "\t" || c === "\r") {
      pos++;
      continue;
    }
    if (c === "/" && text.charAt(pos + 1) === "/") {
      let end = text.indexOf("\n", pos);
      if (end < 0) end = text.length;
      const body = text.slice(pos, end).replace(/\r$/, "");
      // Exactly three slashes make a doc comment; `////` is an ordinary comment, as in Rust.
      if (body.startsWith("///") && !body.startsWith("////")) {
        let docText = body.slice(3);
        if (docText.startsWith(" ")) docText = docText.slice(1);
        tokens.push({ kind: "doc", text: docText.trimEnd(), loc: locAt(pos), trailing: codeOnLine });
      }
      pos = end;
      continue;
    }
    if (c === "/" && text.charAt(pos + 1) === "*") {
      fail(pos, "block comments '/*' are not supported; use '//' line comments");
    }
    if (isIdentStart(c) || (c === "." && isIdentStart(text.charAt(pos + 1)))) {
      const start = pos;
      if (c === ".") pos++;
      pos = readIdent(pos);
      // Dotted names are one token so `a . b` cannot sneak in; each part must be an identifier.
      while (text.charAt(pos) === "." && isIdentStart(text.charAt(pos + 1))) pos = readIdent(pos + 1);
      if (text.charAt(pos) === ".") fail(pos, `expected a name after '.' in '${text.slice(start, pos)}.'`);
      push("name", text.slice(start, pos), start);
      continue;
    }
    if (isDigit(c) || (c === "-" && isDigit(text.charAt(pos + 1)))) {
      const start = pos;
      if (c === "-") pos++;
      while (isDigit(text.charAt(pos))) pos++;
      if (text.charAt(pos) === "." && isDigit(text.charAt(pos + 1))) {
        pos++;
        while (isDigit(text.charAt(pos))) pos++;
      }
      if (isIdentPart(text.charAt(pos)) || text.charAt(pos) === ".") {
        let end = pos;
        while (end < text.length && (isIdentPart(text.charAt(end)) || text.charAt(end) === ".")) end++;
        fail(start, `invalid number '${text.slice(start, end)}' (numbers are decimal, like 10, -1 or 0.5; write durations as strings, like "5s")`);
      }
      push("number", text.slice(start, pos), start);
      continue;
    }
    if (c === '"') {
      const start = pos;
      push("string", readString(), start);
      continue;
    }
    if (PUNCT.has(c)) {
      push("punct", c, pos);
      pos++;
      continue;
    }
    fail(pos, `unexpected character '${c}'`);
  }
  tokens.push({ kind: "eof", text: "", loc: locAt(pos) });
  return tokens;

  // Reads a JSON-style string starting at the opening quote; returns the decoded value.
  function readString(): string {
    const start = pos;
    pos++;
    let out = "";
    for (;;) {
      const ch = text.charAt(pos);
      if (pos >= text.length || ch === "\n" || ch === "\r") return fail(start, "unterminated string (strings end with '\"' on the same line)");
      if (ch === '"') {
        pos++;
        return out;
      }
      if (ch < " ") return fail(pos, "control character in string (use an escape such as \\t)");
      if (ch !== "\\") {
        out += ch;
        pos++;
        continue;
      }
      const esc = text.charAt(pos + 1);
      const decoded = SIMPLE_ESCAPES[esc];
      if (decoded !== undefined) {
        out += decoded;
        pos += 2;
      } else if (esc === "u" && /^[0-9A-Fa-f]{4}$/.test(text.slice(pos + 2, pos + 6))) {
        out += String.fromCharCode(parseInt(text.slice(pos + 2, pos + 6), 16));
        pos += 6;
      } else {
        return fail(pos, `invalid escape '\\${esc}' in string (expected \\", \\\\, \\/, \\b, \\f, \\n, \\r, \\t or \\uXXXX)`);
      }
    }
  }
}

/** How a token reads in an error message: `'x'`, `string "x"`, `end of file`. */
export function describeToken(token: Token): string {
  switch (token.kind) {
    case "eof":
      return "end of file";
    case "string":
      return `string ${JSON.stringify(token.text)}`;
    case "doc":
      return "doc comment '///'";
    default:
      return `'${token.text}'`;
  }
}
