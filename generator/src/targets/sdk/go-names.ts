import type { DescEnum, DescField, DescMessage, DescService } from "@bufbuild/protobuf";
import { ScalarType } from "@bufbuild/protobuf";

/** The Go module of sdks/go; users `go get` it with a replace pointing at their checkout. */
export const goModule = "ottavo.dev/sdks/go";

/** protobuf-go's GoCamelCase (internal/strs), so our names match the generated structs. */
export function goCamelCase(s: string): string {
  let out = "";
  const lower = (c: string | undefined) => c !== undefined && c >= "a" && c <= "z";
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (c === "." && lower(s[i + 1])) continue;
    if (c === ".") out += "_";
    else if (c === "_" && (i === 0 || s[i - 1] === ".")) out += "X";
    else if (c === "_" && lower(s[i + 1])) continue;
    else if (c >= "0" && c <= "9") out += c;
    else {
      out += lower(c) ? c.toUpperCase() : c;
      while (lower(s[i + 1])) out += s[++i];
    }
  }
  return out;
}

/** The Go package (directory and name) of a proto package: spec.proto.runtime.v1 -> runtimev1. */
export function goPackageName(protoPackage: string): string {
  return protoPackage.split(".").slice(-2).join("").replace(/[^a-z0-9]/g, "");
}

const wellKnown: Record<string, { pkg: string; path: string }> = {
  "google.protobuf.Any": { pkg: "anypb", path: "google.golang.org/protobuf/types/known/anypb" },
  "google.protobuf.Empty": { pkg: "emptypb", path: "google.golang.org/protobuf/types/known/emptypb" },
  "google.protobuf.Timestamp": { pkg: "timestamppb", path: "google.golang.org/protobuf/types/known/timestamppb" },
  "google.protobuf.Duration": { pkg: "durationpb", path: "google.golang.org/protobuf/types/known/durationpb" },
  "google.protobuf.Struct": { pkg: "structpb", path: "google.golang.org/protobuf/types/known/structpb" },
};

/** Tracks the imports a Go file needs while its code is printed. */
export class GoImports {
  private readonly paths = new Map<string, string>();

  use(pkg: string, path: string): string {
    this.paths.set(path, pkg);
    return pkg;
  }

  /** The qualified Go type name of a message or enum. */
  ident(desc: DescMessage | DescEnum | DescService): string {
    const known = wellKnown[desc.typeName];
    if (known) return `${this.use(known.pkg, known.path)}.${desc.name}`;
    const pkg = goPackageName(desc.file.proto.package);
    const local = desc.typeName.slice(desc.file.proto.package.length + 1).split(".").map(goCamelCase).join("_");
    return `${this.use(pkg, `${goModule}/${pkg}`)}.${local}`;
  }

  block(): string {
    if (this.paths.size === 0) return "";
    const lines = [...this.paths.keys()].sort().map((path) => `\t${JSON.stringify(path)}`);
    return `import (\n${lines.join("\n")}\n)\n`;
  }
}

export function goScalar(scalar: ScalarType): string {
  switch (scalar) {
    case ScalarType.STRING:
      return "string";
    case ScalarType.BOOL:
      return "bool";
    case ScalarType.BYTES:
      return "[]byte";
    case ScalarType.DOUBLE:
      return "float64";
    case ScalarType.FLOAT:
      return "float32";
    case ScalarType.INT64:
    case ScalarType.SINT64:
    case ScalarType.SFIXED64:
      return "int64";
    case ScalarType.UINT64:
    case ScalarType.FIXED64:
      return "uint64";
    case ScalarType.UINT32:
    case ScalarType.FIXED32:
      return "uint32";
    default:
      return "int32";
  }
}

/** The Go type of a field as protoc-gen-go declares it (proto3 optional scalars aside: callers get the plain type). */
export function goFieldType(imports: GoImports, field: DescField): string {
  switch (field.fieldKind) {
    case "scalar":
      return goScalar(field.scalar);
    case "enum":
      return imports.ident(field.enum);
    case "message":
      return `*${imports.ident(field.message)}`;
    case "list":
      if (field.listKind === "scalar") return `[]${goScalar(field.scalar)}`;
      if (field.listKind === "enum") return `[]${imports.ident(field.enum)}`;
      return `[]*${imports.ident(field.message)}`;
    case "map": {
      const value = field.mapKind === "scalar" ? goScalar(field.scalar) : field.mapKind === "enum" ? imports.ident(field.enum) : `*${imports.ident(field.message)}`;
      return `map[${goScalar(field.mapKey)}]${value}`;
    }
  }
}

/** A Go expression that is true when value (of the field's type) is set. */
export function goIsSet(field: DescField, value: string): string {
  switch (field.fieldKind) {
    case "scalar":
      if (field.scalar === ScalarType.STRING) return `${value} != ""`;
      if (field.scalar === ScalarType.BOOL) return value;
      if (field.scalar === ScalarType.BYTES) return `len(${value}) > 0`;
      return `${value} != 0`;
    case "enum":
      return `${value} != 0`;
    case "message":
      return `${value} != nil`;
    default:
      return `len(${value}) > 0`;
  }
}

const keywords = new Set(["break", "case", "chan", "const", "continue", "default", "defer", "else", "fallthrough", "for", "func", "go", "goto", "if", "import", "interface", "map", "package", "range", "return", "select", "struct", "switch", "type", "var", "ctx", "req", "resp", "err", "opts", "o", "c"]);

/** A parameter name that is no Go keyword and no name the generated body uses. */
export function goParam(name: string): string {
  return keywords.has(name) ? `${name}Arg` : name;
}
