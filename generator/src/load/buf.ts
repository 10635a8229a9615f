import { execFileSync } from "node:child_process";
import { fromBinary } from "@bufbuild/protobuf";
import { FileDescriptorSetSchema, type FileDescriptorSet } from "@bufbuild/protobuf/wkt";
import { SpecError } from "../spec-error";
import { AggregateSpecError } from "../idl";

/** Where buf is asked to compile: a buf workspace (buf.yaml in cwd) or a bare directory. */
export interface BufInput {
  /** Working directory: the repository root for our own spec. */
  readonly cwd: string;
  /** A directory to compile instead of the workspace in cwd. */
  readonly dir?: string;
  /** Inline buf.yaml, for directories that have none (upstream packages). */
  readonly config?: string;
}

const bufLauncher = require.resolve("@bufbuild/buf/bin/buf");

/**
 * Compiles protos with buf into a FileDescriptorSet that keeps what code generation
 * needs (file names, dependencies, comments, json names), which protobufjs does not.
 * Compile errors come back as SpecErrors with buf's file:line:col.
 */
export function buildDescriptorSet(input: BufInput): FileDescriptorSet {
  const args = [bufLauncher, "build"];
  if (input.dir !== undefined) args.push(input.dir);
  if (input.config !== undefined) args.push("--config", input.config);
  args.push("-o", "-#format=binpb");
  let bytes: Buffer;
  try {
    bytes = execFileSync(process.execPath, args, {
      cwd: input.cwd,
      maxBuffer: 256 * 1024 * 1024,
      stdio: ["ignore", "pipe", "pipe"],
    });
  } catch (err) {
    throw bufFailure(err, input);
  }
  return fromBinary(FileDescriptorSetSchema, new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength));
}

const locatedLine = /^(.+?):(\d+):(\d+):\s*(.*)$/;

function bufFailure(err: unknown, input: BufInput): Error {
  const stderr = String((err as { stderr?: Buffer }).stderr ?? "").trim();
  const errors: SpecError[] = [];
  for (const line of stderr.split("\n")) {
    const m = locatedLine.exec(line.trim());
    if (m) errors.push(new SpecError(m[1], Number(m[2]), Number(m[3]), m[4]));
  }
  if (errors.length > 0) return new AggregateSpecError(errors);
  const where = input.dir ?? input.cwd;
  return new Error(`buf could not compile the protos in ${where}: ${stderr || String(err)}`);
}
