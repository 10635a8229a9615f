/**
 * A hand-written recursive-descent parser for .cap files. It stops at the
 * first syntax error (later errors would mostly be echoes of it); the checker
 * is where errors are collected.
 */
import { SpecError } from "../spec-error";
import type {
  AdapterAst,
  CallbackAst,
  CapabilityAst,
  EnumAst,
  ErrorAst,
  FeatureAst,
  FieldAst,
  IdlFileAst,
  LiteralAst,
  MessageAst,
  MetadataFieldAst,
  MetadataGroupAst,
  MetadataItemAst,
  Name,
  OperationAst,
  ParamAst,
  TypeAst,
} from "./ast";
import { describeToken, tokenize, type Token } from "./lexer";
import type { Loc } from "./model";

export function parseIdl(file: string, text: string): IdlFileAst {
  return new Parser(file, tokenize(file, text)).parseFile();
}

const CAPABILITY_MEMBERS = "'operation', 'feature', 'error', 'message', 'union', 'enum', 'callback', 'metadata' or 'serves'";

class Parser {
  private pos = 0;

  constructor(
    private readonly file: string,
    private readonly tokens: Token[],
  ) {}

  parseFile(): IdlFileAst {
    const ast: IdlFileAst = { file: this.file, capabilities: [], adapters: [], metadataGroups: [], errors: [] };
    for (;;) {
      const doc = this.takeDoc();
      const token = this.peek();
      if (token.kind === "eof") {
        this.rejectOrphanDoc(doc, token);
        return ast;
      }
      if (this.isKeyword(token, "capability")) ast.capabilities.push(this.parseCapability(doc.text));
      else if (this.isKeyword(token, "adapter")) ast.adapters.push(this.parseAdapter(doc.text));
      else if (this.isKeyword(token, "metadata")) ast.metadataGroups.push(this.parseMetadataGroup(doc.text));
      else if (this.isKeyword(token, "error")) ast.errors.push(this.parseError(doc.text));
      else this.fail(token, `expected 'capability', 'adapter', 'metadata' or 'error', found ${describeToken(token)}`);
    }
  }

  // ---- capability ----

  private parseCapability(doc: string): CapabilityAst {
    this.next();
    const name = this.expectName("a capability name");
    if (!this.isKeyword(this.peek(), "as")) {
      this.fail(this.peek(), `expected 'as' and the interface name (like 'capability state as StateStore'), found ${describeToken(this.peek())}`);
    }
    this.next();
    const interfaceName = this.expectName("an interface name");
    const cap: CapabilityAst = {
      name,
      interfaceName,
      doc,
      serves: [],
      operations: [],
      features: [],
      errors: [],
      messages: [],
      enums: [],
      callbacks: [],
      metadataBlocks: [],
    };
    this.expectPunct("{");
    this.parseBlockBody((memberDoc, token) => {
      if (this.isKeyword(token, "serves")) cap.serves.push(...this.parseServes());
      else if (this.isKeyword(token, "operation")) cap.operations.push(this.parseOperation(memberDoc));
      else if (this.isKeyword(token, "feature")) cap.features.push(this.parseFeature(memberDoc));
      else if (this.isKeyword(token, "error")) cap.errors.push(this.parseError(memberDoc));
      else if (this.isKeyword(token, "message")) cap.messages.push(this.parseMessage(memberDoc, false));
      else if (this.isKeyword(token, "union")) cap.messages.push(this.parseMessage(memberDoc, true));
      else if (this.isKeyword(token, "enum")) cap.enums.push(this.parseEnum(memberDoc));
      else if (this.isKeyword(token, "callback")) cap.callbacks.push(this.parseCallback(memberDoc));
      else if (this.isKeyword(token, "metadata")) {
        this.next();
        cap.metadataBlocks.push({ loc: token.loc, items: this.parseMetadataBlock() });
      } else this.fail(token, `expected ${CAPABILITY_MEMBERS}, found ${describeToken(token)}`);
    });
    return cap;
  }

  private parseServes(): Name[] {
    this.next();
    return this.parseList(() => this.expectQualifiedName("a runtime rpc as Service.Method"));
  }

  private parseOperation(doc: string): OperationAst {
    this.next();
    const name = this.expectName("an operation name");
    const params = this.parseParams();
    const returns = this.parseReturns();
    return returns ? { name, doc, params, returns } : { name, doc, params };
  }

  private parseCallback(doc: string): CallbackAst {
    this.next();
    const name = this.expectName("a callback name");
    const params = this.parseParams();
    const returns = this.parseReturns();
    return returns ? { name, doc, params, returns } : { name, doc, params };
  }

  private parseParams(): ParamAst[] {
    this.expectPunct("(");
    const params: ParamAst[] = [];
    if (!this.isPunct(this.peek(), ")")) {
      for (;;) {
        const name = this.expectName("a parameter name");
        this.expectPunct(":");
        params.push({ name, type: this.parseType() });
        if (!this.isPunct(this.peek(), ",")) break;
        this.next();
      }
    }
    if (!this.isPunct(this.peek(), ")")) this.fail(this.peek(), `expected ',' or ')', found ${describeToken(this.peek())}`);
    this.next();
    return params;
  }

  private parseReturns(): TypeAst | undefined {
    if (!this.isKeyword(this.peek(), "returns")) return undefined;
    this.next();
    return this.parseType();
  }

  private parseFeature(doc: string): FeatureAst {
    this.next();
    const name = this.expectName("a feature name");
    let unlocks: Name[] = [];
    if (this.isKeyword(this.peek(), "unlocks")) {
      this.next();
      unlocks = this.parseList(() => this.expectName("an operation name"));
    }
    return { name, doc, unlocks };
  }

  private parseError(doc: string): ErrorAst {
    this.next();
    const name = this.expectName("an error name");
    this.expectPunct("=");
    const status = this.expectName("a gRPC status code, like NOT_FOUND");
    return { name, doc, status };
  }

  private parseMessage(doc: string, union: boolean): MessageAst {
    this.next();
    const name = this.expectName(union ? "a union name" : "a message name");
    const fields: FieldAst[] = [];
    this.expectPunct("{");
    this.parseBlockBody((fieldDoc, token) => {
      if (token.kind !== "name" || token.text.includes(".")) this.fail(token, `expected a field name or '}', found ${describeToken(token)}`);
      const fieldName = this.expectName("a field name");
      let optional = false;
      if (this.isPunct(this.peek(), "?")) {
        this.next();
        optional = true;
      }
      this.expectPunct(":");
      const field: FieldAst = { name: fieldName, doc: fieldDoc, optional, type: this.parseType(), min: [], max: [], pattern: [] };
      // Constraints are contextual: `min: int32` or `min?: int32` is the next field, not a modifier.
      for (;;) {
        const token = this.peek();
        if (this.isPunct(this.peek(1), ":") || this.isPunct(this.peek(1), "?")) break;
        if (this.isKeyword(token, "min") || this.isKeyword(token, "max") || this.isKeyword(token, "pattern")) {
          this.next();
          field[token.text as "min" | "max" | "pattern"].push(this.parseLiteral());
        } else break;
      }
      fields.push(field);
    });
    return { name, doc, fields, union };
  }

  private parseEnum(doc: string): EnumAst {
    this.next();
    const name = this.expectName("an enum name");
    const values: EnumAst["values"] = [];
    this.expectPunct("{");
    this.parseBlockBody((valueDoc, token) => {
      if (token.kind !== "name" || token.text.includes(".")) this.fail(token, `expected an enum value or '}', found ${describeToken(token)}`);
      values.push({ name: this.expectName("an enum value"), doc: valueDoc });
    });
    return { name, doc, values };
  }

  private parseType(): TypeAst {
    const token = this.peek();
    if (token.kind !== "name") this.fail(token, `expected a type, found ${describeToken(token)}`);
    this.next();
    const loc = token.loc;
    const generic = token.text === "list" || token.text === "map" || token.text === "stream";
    if (!generic) return { kind: "name", name: token.text, loc };
    if (!this.isPunct(this.peek(), "<")) this.fail(this.peek(), `expected '<' after '${token.text}', found ${describeToken(this.peek())}`);
    this.next();
    let type: TypeAst;
    if (token.text === "map") {
      const key = this.parseType();
      this.expectPunct(",");
      type = { kind: "map", key, value: this.parseType(), loc };
    } else {
      type = { kind: token.text === "list" ? "list" : "stream", element: this.parseType(), loc };
    }
    this.expectPunct(">");
    return type;
  }

  // ---- adapter and metadata ----

  private parseAdapter(doc: string): AdapterAst {
    this.next();
    const typeToken = this.peek();
    if (typeToken.kind !== "string") this.fail(typeToken, `expected the adapter type as a string (like "redis"), found ${describeToken(typeToken)}`);
    this.next();
    if (!this.isKeyword(this.peek(), "implements")) this.fail(this.peek(), `expected 'implements', found ${describeToken(this.peek())}`);
    this.next();
    const capability = this.expectName("a capability name");
    const adapter: AdapterAst = { type: { text: typeToken.text, loc: typeToken.loc }, capability, doc, featureLists: [], metadataBlocks: [] };
    this.expectPunct("{");
    this.parseBlockBody((_itemDoc, token) => {
      if (this.isKeyword(token, "features")) {
        this.next();
        adapter.featureLists.push({ loc: token.loc, names: this.parseList(() => this.expectName("a feature name")) });
      } else if (this.isKeyword(token, "metadata")) {
        this.next();
        adapter.metadataBlocks.push({ loc: token.loc, items: this.parseMetadataBlock() });
      } else {
        this.fail(token, `expected 'features' or 'metadata', found ${describeToken(token)}`);
      }
    });
    return adapter;
  }

  private parseMetadataGroup(doc: string): MetadataGroupAst {
    this.next();
    const name = this.expectName("a metadata group name");
    return { name, doc, items: this.parseMetadataBlock() };
  }

  private parseMetadataBlock(): MetadataItemAst[] {
    const items: MetadataItemAst[] = [];
    this.expectPunct("{");
    this.parseBlockBody((itemDoc, token) => {
      // `include` is a keyword only when not used as a field name (`include: bool`).
      if (this.isKeyword(token, "include") && !this.isPunct(this.peek(1), ":")) {
        this.next();
        items.push({ kind: "include", group: this.expectName("a metadata group name"), loc: token.loc });
      } else if (token.kind === "name" && !token.text.includes(".")) {
        items.push(this.parseMetadataField(itemDoc));
      } else {
        this.fail(token, `expected a metadata field name, 'include' or '}', found ${describeToken(token)}`);
      }
    });
    return items;
  }

  private parseMetadataField(doc: string): MetadataFieldAst {
    const name = this.expectName("a metadata field name");
    this.expectPunct(":");
    const type = this.expectName("a metadata type (string, bool, int, number or duration)");
    const field: MetadataFieldAst = { kind: "field", name, doc, type, required: [], sensitive: [], aliases: [], min: [], max: [], oneOf: [], excludes: [], pattern: [], deprecated: [], requiredWhen: [] };
    if (this.isPunct(this.peek(), "=")) {
      this.next();
      field.default = this.parseLiteral();
    }
    // Modifiers are contextual: a following `required: ...` is the next field, not a modifier.
    for (;;) {
      const token = this.peek();
      if (this.isPunct(this.peek(1), ":")) break;
      if (this.isKeyword(token, "required")) field.required.push(token.loc);
      else if (this.isKeyword(token, "sensitive")) field.sensitive.push(token.loc);
      else if (this.isKeyword(token, "alias")) {
        this.next();
        const alias = this.peek();
        if (alias.kind !== "string") this.fail(alias, `expected the alias as a string after 'alias', found ${describeToken(alias)}`);
        field.aliases.push({ text: alias.text, loc: alias.loc });
      } else if (this.isKeyword(token, "min") || this.isKeyword(token, "max")) {
        this.next();
        const bound = this.peek();
        const isFieldRef = bound.kind === "name" && !bound.text.includes(".") && bound.text !== "true" && bound.text !== "false";
        if (isFieldRef) this.next();
        (token.text === "min" ? field.min : field.max).push(isFieldRef ? { kind: "field", name: { text: bound.text, loc: bound.loc }, loc: bound.loc } : this.parseLiteral());
        continue;
      } else if (this.isKeyword(token, "oneOf")) {
        this.next();
        field.oneOf.push(this.parseList(() => this.parseLiteral()));
        continue;
      } else if (this.isKeyword(token, "pattern")) {
        this.next();
        field.pattern.push(this.parseLiteral());
        continue;
      } else if (this.isKeyword(token, "requiredWhen")) {
        this.next();
        const other = this.expectName("the metadata field whose value makes this one required");
        field.requiredWhen.push({ field: other, value: this.parseLiteral(), loc: token.loc });
        continue;
      } else if (this.isKeyword(token, "deprecated")) {
        this.next();
        const old = this.peek();
        if (old.kind !== "string") this.fail(old, `expected the deprecated key as a string after 'deprecated', found ${describeToken(old)}`);
        field.deprecated.push({ text: old.text, loc: old.loc });
      } else if (this.isKeyword(token, "excludes")) {
        this.next();
        field.excludes.push(this.expectName("the metadata field it excludes"));
        continue;
      } else break;
      this.next();
    }
    return field;
  }

  private parseLiteral(): LiteralAst {
    const token = this.peek();
    this.next();
    if (token.kind === "string") return { kind: "string", value: token.text, loc: token.loc };
    if (token.kind === "number") return { kind: "number", value: Number(token.text), raw: token.text, loc: token.loc };
    if (this.isKeyword(token, "true") || this.isKeyword(token, "false")) return { kind: "bool", value: token.text === "true", loc: token.loc };
    return this.fail(token, `expected a default value (a string, number, true or false), found ${describeToken(token)}`);
  }

  // ---- helpers ----

  /**
   * Parses items up to the closing '}' (consumed). Each item gets the doc
   * comment written before it; a doc comment with nothing after it is an error.
   */
  private parseBlockBody(parseItem: (doc: string, token: Token) => void): void {
    for (;;) {
      const doc = this.takeDoc();
      const token = this.peek();
      if (this.isPunct(token, "}") || token.kind === "eof") {
        this.rejectOrphanDoc(doc, token);
        if (token.kind === "eof") this.fail(token, "expected '}', found end of file");
        this.next();
        return;
      }
      parseItem(doc.text, token);
    }
  }

  /** Collects consecutive `///` lines before a declaration. */
  private takeDoc(): { text: string; loc?: Loc } {
    const lines: string[] = [];
    let loc: Loc | undefined;
    while (this.peek().kind === "doc") {
      const token = this.peek();
      if (token.trailing) {
        this.fail(token, "doc comment '///' after code on the same line; put it on its own line before what it documents (use '//' for a trailing remark)");
      }
      loc ??= token.loc;
      lines.push(token.text);
      this.next();
    }
    return loc ? { text: lines.join("\n"), loc } : { text: "" };
  }

  private rejectOrphanDoc(doc: { loc?: Loc }, found: Token): void {
    if (doc.loc) {
      throw new SpecError(this.file, doc.loc.line, doc.loc.column, `doc comment '///' documents nothing (found ${describeToken(found)} after it); put it directly before a declaration or use '//'`);
    }
  }

  private parseList<T>(item: () => T): T[] {
    const names = [item()];
    while (this.isPunct(this.peek(), ",")) {
      this.next();
      names.push(item());
    }
    return names;
  }

  private expectName(what: string): Name {
    const token = this.peek();
    if (token.kind !== "name" || token.text.includes(".")) this.fail(token, `expected ${what}, found ${describeToken(token)}`);
    this.next();
    return { text: token.text, loc: token.loc };
  }

  private expectQualifiedName(what: string): Name {
    const token = this.peek();
    if (token.kind !== "name") this.fail(token, `expected ${what}, found ${describeToken(token)}`);
    this.next();
    return { text: token.text, loc: token.loc };
  }

  private expectPunct(c: string): void {
    const token = this.peek();
    if (!this.isPunct(token, c)) this.fail(token, `expected '${c}', found ${describeToken(token)}`);
    this.next();
  }

  private isKeyword(token: Token, keyword: string): boolean {
    return token.kind === "name" && token.text === keyword;
  }

  private isPunct(token: Token, c: string): boolean {
    return token.kind === "punct" && token.text === c;
  }

  private peek(ahead = 0): Token {
    // The token list always ends with eof, so clamp there.
    return this.tokens[Math.min(this.pos + ahead, this.tokens.length - 1)];
  }

  private next(): void {
    if (this.pos < this.tokens.length - 1) this.pos++;
  }

  private fail(token: Token, detail: string): never {
    throw new SpecError(this.file, token.loc.line, token.loc.column, detail);
  }
}
