/**
 * Metadata groups and blocks: field checks (type, default, modifiers),
 * splicing `include`s, include cycles, and duplicate keys after splicing.
 */
import type { LiteralAst, MetadataFieldAst, MetadataGroupAst, MetadataItemAst } from "./ast";
import { compareLocs, formatLoc, type Diagnostics } from "./diagnostics";
import { isDuration, parseDuration } from "./duration";
import { METADATA_TYPE_NAMES, type Loc, type MetadataField, type MetadataGroup, type MetadataItem, type MetadataTypeName } from "./model";
import { NameTable } from "./name-table";
import { checkNaming } from "./naming";

/** A field after splicing, with where it entered the block being checked. */
interface FlatEntry {
  field: MetadataField;
  ast: MetadataFieldAst;
  /** The include statement that brought it in; absent when declared in the block itself. */
  include?: Loc;
}

const isMetadataType = (name: string): name is MetadataTypeName => (METADATA_TYPE_NAMES as readonly string[]).includes(name);

export class MetadataChecker {
  private readonly groups: NameTable<MetadataGroupAst>;
  private readonly checkedFields = new Map<MetadataFieldAst, MetadataField | undefined>();
  // Each group is spliced once; "visiting" marks the current include path, for cycle detection.
  private readonly flattened = new Map<MetadataGroupAst, FlatEntry[] | "visiting">();
  // The model of each group, set when its splicing is done.
  private readonly models = new Map<MetadataGroupAst, MetadataGroup>();
  private readonly sorted: MetadataGroupAst[];
  private readonly path: string[] = [];

  constructor(
    private readonly diag: Diagnostics,
    groups: MetadataGroupAst[],
  ) {
    this.groups = new NameTable(diag, (n) => `metadata group '${n}'`);
    const sorted = [...groups].sort((a, b) => compareLocs(a.name.loc, b.name.loc));
    this.sorted = sorted;
    for (const group of sorted) {
      checkNaming(diag, group.name, "metadata group name", "UpperCamel");
      this.groups.add(group.name, group);
    }
    // Check every group, used or not, so its errors show up once, at the group.
    for (const group of sorted) this.flattenGroup(group);
  }

  /** An adapter's metadata block: its fields with includes spliced in order, and its items as declared. */
  adapterMetadata(items: MetadataItemAst[], where: string): { fields: MetadataField[]; items: MetadataItem[] } {
    const block = this.flattenItems(items);
    this.checkDuplicateKeys(block.entries, where);
    const names = new Set(block.entries.map((e) => e.field.name));
    for (const entry of block.entries) {
      if (entry.include) continue; // a group's own fields are checked at the group
      for (const other of entry.ast.excludes) {
        if (!names.has(other.text)) this.diag.error(other.loc, `metadata field '${entry.field.name}' excludes '${other.text}', which ${where} does not declare`);
      }
    }
    this.checkFieldBounds(block.entries, where);
    return { fields: block.entries.map((e) => e.field), items: block.items };
  }

  /** Every group, in declaration order (a repeated name keeps its first declaration). */
  groupModels(): MetadataGroup[] {
    return this.sorted
      .filter((ast) => this.groups.get(ast.name.text) === ast)
      .map((ast) => this.models.get(ast))
      .filter((group): group is MetadataGroup => group !== undefined);
  }

  private flattenGroup(group: MetadataGroupAst): FlatEntry[] {
    const done = this.flattened.get(group);
    if (done === "visiting") return [];
    if (done) return done;
    this.flattened.set(group, "visiting");
    this.path.push(group.name.text);
    const { entries, items } = this.flattenItems(group.items);
    this.path.pop();
    this.checkDuplicateKeys(entries, `metadata group '${group.name.text}'`);
    this.checkFieldBounds(entries, `metadata group '${group.name.text}'`);
    this.flattened.set(group, entries);
    this.models.set(group, { name: group.name.text, doc: group.doc, loc: group.name.loc, fields: entries.map((e) => e.field), items });
    return entries;
  }

  private flattenItems(asts: MetadataItemAst[]): { entries: FlatEntry[]; items: MetadataItem[] } {
    const entries: FlatEntry[] = [];
    const items: MetadataItem[] = [];
    for (const item of asts) {
      if (item.kind === "field") {
        const field = this.checkField(item);
        if (field) {
          entries.push({ field, ast: item });
          items.push({ kind: "field", field });
        }
        continue;
      }
      const group = this.groups.get(item.group.text);
      if (!group) {
        this.diag.error(item.group.loc, `unknown metadata group '${item.group.text}' in include (no 'metadata ${item.group.text} { ... }' in any .cap file)`);
        continue;
      }
      if (this.flattened.get(group) === "visiting") {
        const start = this.path.indexOf(group.name.text);
        const cycle = [...this.path.slice(start), group.name.text].join(" -> ");
        this.diag.error(item.group.loc, `include cycle: ${cycle}`);
        continue;
      }
      for (const entry of this.flattenGroup(group)) entries.push({ field: entry.field, ast: entry.ast, include: item.loc });
      const model = this.models.get(group);
      if (model) items.push({ kind: "include", group: model });
    }
    return { entries, items };
  }

  /** `min <field>` / `max <field>` and `requiredWhen <field>` of the block's own fields name a field of the block, of a fitting type. */
  private checkFieldBounds(entries: FlatEntry[], where: string): void {
    for (const entry of entries) {
      if (entry.include) continue; // checked at its group
      const when = entry.ast.requiredWhen[0];
      if (when && when.field.text !== entry.field.name) {
        const other = entries.find((e) => e.field.name === when.field.text);
        if (!other) this.diag.error(when.field.loc, `metadata field '${entry.field.name}' is required when '${when.field.text}' is ${describeLiteral(when.value)}, which ${where} does not declare`);
        else if (defaultProblem(other.field.type, when.value) !== undefined || (other.field.oneOf !== undefined && !other.field.oneOf.includes(String(when.value.value)))) {
          this.diag.error(when.value.loc, `metadata field '${entry.field.name}' is required when '${when.field.text}' is ${describeLiteral(when.value)}, a value '${when.field.text}' cannot take`);
        }
      }
      for (const bound of [...entry.ast.min, ...entry.ast.max]) {
        if (bound.kind !== "field" || bound.name.text === entry.field.name) continue;
        const other = entries.find((e) => e.field.name === bound.name.text);
        if (!other) this.diag.error(bound.loc, `metadata field '${entry.field.name}' is bounded by '${bound.name.text}', which ${where} does not declare`);
        else if (other.field.type !== entry.field.type) {
          this.diag.error(bound.loc, `metadata field '${entry.field.name}' (${entry.field.type}) is bounded by '${bound.name.text}', ${other.field.type === "int" ? "an" : "a"} ${other.field.type}; bound a field by one of the same type`);
        } else if (entry.field.default !== undefined && other.field.default !== undefined) {
          const read = (field: MetadataField) => (field.type === "duration" ? parseDuration(String(field.default))! : Number(field.default));
          const atLeast = entry.ast.min.includes(bound);
          if (atLeast ? read(entry.field) < read(other.field) : read(entry.field) > read(other.field)) {
            this.diag.error(bound.loc, `the default of metadata field '${entry.field.name}' breaks its own ${atLeast ? "min" : "max"} '${bound.name.text}' (whose default it is compared with)`);
          }
        }
      }
    }
  }

  /**
   * Names and aliases are the keys a config may use; they must be unique.
   * Case is ignored because Dapr matches metadata keys that way, so a
   * Dapr-style config could not tell 'enableTLS' from 'enabletls'.
   * Clashes inside one include were already reported at its group.
   */
  private checkDuplicateKeys(entries: FlatEntry[], where: string): void {
    const seen = new Map<string, { entry: FlatEntry; key: string; as: string; loc: Loc }>();
    for (const entry of entries) {
      const keys = [
        { key: entry.field.name, as: "", loc: entry.ast.name.loc },
        ...entry.ast.aliases.map((a) => ({ key: a.text, as: "an alias", loc: a.loc })),
        ...entry.ast.deprecated.map((a) => ({ key: a.text, as: "a deprecated name", loc: a.loc })),
      ];
      for (const k of keys) {
        const folded = k.key.toLowerCase();
        const first = seen.get(folded);
        if (!first) {
          seen.set(folded, { entry, ...k });
          continue;
        }
        if (entry.include && first.entry.include === entry.include) continue;
        const usedBy = first.as ? `as ${first.as} of field '${first.entry.field.name}'` : `by field '${first.entry.field.name}'`;
        const caseNote = first.key === k.key ? "" : "; keys are compared ignoring case";
        this.diag.error(entry.include ?? k.loc, `duplicate metadata key '${k.key}' in ${where} (already used ${usedBy} at ${formatLoc(first.loc)}${caseNote})`);
      }
    }
  }

  private checkField(ast: MetadataFieldAst): MetadataField | undefined {
    if (this.checkedFields.has(ast)) return this.checkedFields.get(ast);
    const field = this.buildField(ast);
    this.checkedFields.set(ast, field);
    return field;
  }

  private buildField(ast: MetadataFieldAst): MetadataField | undefined {
    const { diag } = this;
    const name = ast.name.text;
    checkNaming(diag, ast.name, "metadata field name", "lowerCamel");
    if (ast.required.length > 1) diag.error(ast.required[1]!, `'required' is written twice on metadata field '${name}'`);
    if (ast.sensitive.length > 1) diag.error(ast.sensitive[1]!, `'sensitive' is written twice on metadata field '${name}'`);
    for (const alias of ast.aliases) {
      if (alias.text.trim() === "" || /\s/.test(alias.text)) diag.error(alias.loc, `alias ${JSON.stringify(alias.text)} of metadata field '${name}' must be non-empty and contain no whitespace`);
    }
    for (const old of ast.deprecated) {
      if (old.text.trim() === "" || /\s/.test(old.text)) diag.error(old.loc, `deprecated name ${JSON.stringify(old.text)} of metadata field '${name}' must be non-empty and contain no whitespace`);
    }
    const required = ast.required.length > 0;
    if (required && ast.default) {
      diag.error(ast.required[0]!, `metadata field '${name}' is required and has a default (a required field cannot have a default; remove one)`);
    }
    const type = ast.type.text;
    if (!isMetadataType(type)) {
      diag.error(ast.type.loc, `metadata field '${name}' has unknown type '${type}' (expected string, bool, int, number or duration)`);
      return undefined;
    }
    const field: MetadataField = {
      name,
      type,
      required,
      sensitive: ast.sensitive.length > 0,
      aliases: ast.aliases.map((a) => a.text),
      excludes: ast.excludes.map((e) => e.text),
      deprecated: ast.deprecated.map((d) => d.text),
      doc: ast.doc,
      loc: ast.name.loc,
    };
    if (ast.default) {
      const expected = defaultProblem(type, ast.default);
      if (expected) diag.error(ast.default.loc, `metadata field '${name}' of type ${type} has default ${describeLiteral(ast.default)}, expected ${expected}`);
      else field.default = ast.default.value;
    }
    this.checkConstraints(ast, field);
    return field;
  }

  /** min, max, oneOf and excludes: each fits the field's type, is written once, and agrees with the default. */
  private checkConstraints(ast: MetadataFieldAst, field: MetadataField): void {
    const { diag } = this;
    const name = field.name;
    for (const [which, literals] of [["min", ast.min], ["max", ast.max]] as const) {
      if (literals.length > 1) diag.error(literals[1]!.loc, `'${which}' is written twice on metadata field '${name}'`);
      const literal = literals[0];
      if (!literal) continue;
      if (field.type === "string" || field.type === "bool") {
        diag.error(literal.loc, `'${which}' of metadata field '${name}' needs an int, number or duration field, not ${field.type}`);
        continue;
      }
      if (literal.kind === "field") {
        // Whether it names a field of the same type is checked where the block is known.
        if (literal.name.text === name) diag.error(literal.loc, `'${which}' of metadata field '${name}' names the field itself`);
        else field[which === "min" ? "minField" : "maxField"] = literal.name.text;
        continue;
      }
      const value = boundValue(field.type, literal);
      if (typeof value === "string") diag.error(literal.loc, `'${which}' of metadata field '${name}' (${field.type}) must be ${value}, not ${describeLiteral(literal)}`);
      else field[which] = value;
    }
    if (field.min !== undefined && field.max !== undefined && field.min > field.max) {
      diag.error(ast.max[0]!.loc, `metadata field '${name}' has 'max' below 'min'`);
    }
    if (ast.oneOf.length > 1) diag.error(ast.oneOf[1]![0]!.loc, `'oneOf' is written twice on metadata field '${name}'`);
    const values = ast.oneOf[0];
    if (values) {
      if (field.type !== "string") diag.error(values[0]!.loc, `'oneOf' of metadata field '${name}' needs a string field, not ${field.type}`);
      else if (values.some((v) => v.kind !== "string")) diag.error(values.find((v) => v.kind !== "string")!.loc, `'oneOf' of metadata field '${name}' lists strings only`);
      else field.oneOf = values.map((v) => String(v.value));
    }
    if (ast.pattern.length > 1) diag.error(ast.pattern[1]!.loc, `'pattern' is written twice on metadata field '${name}'`);
    const pattern = ast.pattern[0];
    let regex: RegExp | undefined;
    if (pattern) {
      if (field.type !== "string") diag.error(pattern.loc, `'pattern' of metadata field '${name}' needs a string field, not ${field.type}`);
      else if (pattern.kind !== "string") diag.error(pattern.loc, `'pattern' of metadata field '${name}' must be a string (a regular expression), not ${describeLiteral(pattern)}`);
      else {
        try {
          regex = new RegExp(pattern.value, "u");
          field.pattern = pattern.value;
        } catch (error) {
          diag.error(pattern.loc, `'pattern' of metadata field '${name}' is not a valid regular expression: ${(error as Error).message}`);
        }
      }
    }
    const fits = (value: unknown) =>
      (field.min === undefined || Number(value) >= field.min) &&
      (field.max === undefined || Number(value) <= field.max) &&
      (field.oneOf === undefined || field.oneOf.includes(String(value))) &&
      (regex === undefined || regex.test(String(value)));
    if (ast.default && field.default !== undefined) {
      const value = field.type === "duration" ? parseDuration(String(field.default)) : field.default;
      if (!fits(value)) diag.error(ast.default.loc, `the default of metadata field '${name}' breaks its own min, max, oneOf or pattern`);
    }
    for (const other of ast.excludes) if (other.text === name) diag.error(other.loc, `metadata field '${name}' excludes itself`);
    if (ast.requiredWhen.length > 1) diag.error(ast.requiredWhen[1]!.loc, `'requiredWhen' is written twice on metadata field '${name}'`);
    const when = ast.requiredWhen[0];
    if (when) {
      if (field.required || field.default !== undefined) diag.error(when.loc, `metadata field '${name}' is required or has a default, so 'requiredWhen' would never apply`);
      else if (when.field.text === name) diag.error(when.field.loc, `'requiredWhen' of metadata field '${name}' names the field itself`);
      else field.requiredWhen = { field: when.field.text, value: when.value.value };
    }
  }
}

/** A bound as a number (a duration in milliseconds), or a problem. */
function boundValue(type: MetadataTypeName, literal: LiteralAst): number | string {
  if (type === "int" || type === "number") return literal.kind === "number" ? literal.value : "a number";
  if (type === "duration") {
    return literal.kind === "string" && isDuration(literal.value) ? parseDuration(literal.value)! : `a duration string such as "1ms"`;
  }
  return "a number";
}

/** What the default should have been, or undefined when it fits the type. */
function defaultProblem(type: MetadataTypeName, literal: LiteralAst): string | undefined {
  switch (type) {
    case "string":
      return literal.kind === "string" ? undefined : "a string";
    case "bool":
      return literal.kind === "bool" ? undefined : "true or false";
    case "int":
      return literal.kind === "number" && /^-?\d+$/.test(literal.raw) && Number.isSafeInteger(literal.value) ? undefined : "an integer";
    case "number":
      return literal.kind === "number" ? undefined : "a number";
    case "duration":
      return literal.kind === "string" && isDuration(literal.value) ? undefined : `a duration string such as "5s", "100ms" or "1m30s"`;
  }
}

function describeLiteral(literal: LiteralAst): string {
  switch (literal.kind) {
    case "string":
      return JSON.stringify(literal.value);
    case "number":
      return literal.raw;
    case "bool":
      return String(literal.value);
  }
}
