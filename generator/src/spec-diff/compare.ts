import type { ApiShape, EnumShape, FieldShape, MessageShape, ServiceShape, TypeShape } from "./descriptor-shape";
import { describeField, describeStreaming, distinctPair, relativeName, streamingSides } from "./describe-shape";

/**
 * The outcome of comparing our API with upstream's. Every line names the element
 * (kind and fully qualified name) and says what differs, upstream first.
 */
export interface SpecDiff {
  /** Something upstream defines that ours lacks or defines differently: a wire incompatibility. */
  readonly mismatches: string[];
  /** Something only ours defines: compatible, listed for information. */
  readonly additions: string[];
  /** Upstream packages that spec/ does not declare, so were not compared. */
  readonly notCompared: string[];
}

/**
 * Compares two API shapes package by package. Only packages both declare are
 * compared element by element; an upstream package we do not declare is "not
 * compared", a package only we declare is an addition.
 */
export function compareShapes(upstream: ApiShape, ours: ApiShape): SpecDiff {
  const diff: SpecDiff = { mismatches: [], additions: [], notCompared: [] };
  const compared = new Set<string>();
  for (const [pkg, files] of upstream.packages) {
    if (ours.packages.has(pkg)) compared.add(pkg);
    else diff.notCompared.push(`not compared: package ${pkg} (not in spec/): upstream ${files.join(", ")}`);
  }
  for (const pkg of ours.packages.keys()) {
    if (!upstream.packages.has(pkg)) diff.additions.push(`package ${pkg} only in ours`);
  }

  for (const service of upstream.services.values()) {
    if (!compared.has(service.package)) continue;
    const mine = ours.services.get(service.typeName);
    if (mine === undefined) diff.mismatches.push(`service ${service.typeName} missing in ours`);
    else compareService(service, mine, diff);
  }
  for (const service of ours.services.values()) {
    if (compared.has(service.package) && !upstream.services.has(service.typeName)) {
      diff.additions.push(`service ${service.typeName} only in ours`);
    }
  }

  for (const type of upstream.types.values()) {
    if (!compared.has(type.package)) continue;
    const mine = ours.types.get(type.typeName);
    if (mine === undefined) {
      // A missing message implies its nested declarations are missing: report the outermost only.
      if (type.parent === undefined || ours.types.has(type.parent)) {
        diff.mismatches.push(`${type.kind} ${type.typeName} missing in ours`);
      }
    } else if (type.kind === "message" && mine.kind === "message") {
      compareMessage(type, mine, diff);
    } else if (type.kind === "enum" && mine.kind === "enum") {
      compareEnum(type, mine, diff);
    } else {
      diff.mismatches.push(`${type.kind} ${type.typeName}: upstream ${article(type)}, ours ${article(mine)}`);
    }
  }
  for (const type of ours.types.values()) {
    if (!compared.has(type.package) || upstream.types.has(type.typeName)) continue;
    if (type.parent === undefined || upstream.types.has(type.parent)) {
      diff.additions.push(`${type.kind} ${type.typeName} only in ours`);
    }
  }
  return diff;
}

function article(type: TypeShape): string {
  return type.kind === "message" ? "a message" : "an enum";
}

function compareService(upstream: ServiceShape, ours: ServiceShape, diff: SpecDiff): void {
  const pkg = upstream.package;
  const mine = new Map(ours.methods.map((m) => [m.name, m]));
  for (const method of upstream.methods) {
    const subject = `rpc ${upstream.typeName}.${method.name}`;
    const other = mine.get(method.name);
    if (other === undefined) {
      diff.mismatches.push(`${subject} missing in ours`);
      continue;
    }
    if (other.methodKind !== method.methodKind) {
      const oursText =
        method.methodKind !== "unary" && other.methodKind !== "unary"
          ? streamingSides(other.methodKind)
          : describeStreaming(other.methodKind);
      diff.mismatches.push(`${subject}: upstream ${describeStreaming(method.methodKind)}, ours ${oursText}`);
    }
    for (const [side, up, us] of [
      ["request", method.input, other.input],
      ["response", method.output, other.output],
    ] as const) {
      if (up === us) continue;
      const [a, b] = distinctPair(up, us, relativeName, pkg);
      diff.mismatches.push(`${subject}: upstream ${side} ${a}, ours ${b}`);
    }
  }
  const theirs = new Set(upstream.methods.map((m) => m.name));
  for (const method of ours.methods) {
    if (!theirs.has(method.name)) diff.additions.push(`rpc ${ours.typeName}.${method.name} only in ours`);
  }
}

/**
 * Fields are matched by number (what the wire carries); a field found only under
 * another number is matched by name, so a renumbering reads as one line, not as a
 * missing field plus an added one.
 */
function compareMessage(upstream: MessageShape, ours: MessageShape, diff: SpecDiff): void {
  const subject = `message ${upstream.typeName}`;
  const byNumber = new Map(ours.fields.map((f) => [f.number, f]));
  const byName = new Map(ours.fields.map((f) => [f.name, f]));
  const matched = new Set<FieldShape>();
  for (const field of upstream.fields) {
    const sameNumber = byNumber.get(field.number);
    if (sameNumber !== undefined) {
      matched.add(sameNumber);
      if (sameNumber.name !== field.name) {
        diff.mismatches.push(`${subject}: field ${field.number}: upstream name '${field.name}', ours '${sameNumber.name}'`);
      } else if (sameNumber.jsonName !== field.jsonName) {
        diff.mismatches.push(
          `${subject}: field ${field.number} '${field.name}': upstream JSON name '${field.jsonName}', ours '${sameNumber.jsonName}'`,
        );
      }
      compareFieldShape(`${subject}: field ${field.number} '${field.name}'`, field, sameNumber, upstream.package, diff);
      continue;
    }
    const sameName = byName.get(field.name);
    if (sameName !== undefined) {
      matched.add(sameName);
      diff.mismatches.push(`${subject}: field '${field.name}': upstream number ${field.number}, ours ${sameName.number}`);
      compareFieldShape(`${subject}: field '${field.name}'`, field, sameName, upstream.package, diff);
      continue;
    }
    diff.mismatches.push(`${subject}: field ${field.number} '${field.name}' missing in ours`);
  }
  for (const field of ours.fields) {
    if (!matched.has(field)) diff.additions.push(`${subject}: field ${field.number} '${field.name}' only in ours`);
  }
}

function compareFieldShape(subject: string, upstream: FieldShape, ours: FieldShape, pkg: string, diff: SpecDiff): void {
  if (describeField(upstream, undefined) === describeField(ours, undefined)) return;
  const [a, b] = distinctPair(upstream, ours, describeField, pkg);
  diff.mismatches.push(`${subject}: upstream ${a}, ours ${b}`);
}

/**
 * Enum values matter by number (binary) and by name (JSON, generated code): a
 * value must exist in ours under the same name with the same number.
 */
function compareEnum(upstream: EnumShape, ours: EnumShape, diff: SpecDiff): void {
  const subject = `enum ${upstream.typeName}`;
  const byName = new Map(ours.values.map((v) => [v.name, v]));
  const theirNames = new Set(upstream.values.map((v) => v.name));
  const renamed = new Set<string>();
  for (const value of upstream.values) {
    const sameName = byName.get(value.name);
    if (sameName !== undefined) {
      if (sameName.number !== value.number) {
        diff.mismatches.push(`${subject}: value ${value.name}: upstream = ${value.number}, ours = ${sameName.number}`);
      }
      continue;
    }
    // Same number under a name upstream does not have: a rename, reported as one line.
    const sameNumber = ours.values.find((v) => v.number === value.number && !theirNames.has(v.name));
    if (sameNumber !== undefined) {
      renamed.add(sameNumber.name);
      diff.mismatches.push(`${subject}: value ${value.number}: upstream ${value.name}, ours ${sameNumber.name}`);
      continue;
    }
    diff.mismatches.push(`${subject}: value ${value.name} = ${value.number} missing in ours`);
  }
  for (const value of ours.values) {
    if (!theirNames.has(value.name) && !renamed.has(value.name)) {
      diff.additions.push(`${subject}: value ${value.name} = ${value.number} only in ours`);
    }
  }
}
