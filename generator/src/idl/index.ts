/**
 * The component-capability IDL (the .cap files under spec/components): parse, check,
 * and the resolved model the code generator targets read.
 */
import type { FileRegistry } from "@bufbuild/protobuf";
import { AggregateSpecError, compareSpecErrors, SpecError } from "../spec-error";
import type { IdlFileAst } from "./ast";
import { checkIdl } from "./checker";
import type { IdlModel } from "./model";
import { parseIdl } from "./parser";

export { AggregateSpecError, SpecError } from "../spec-error";
export type { IdlFileAst } from "./ast";
export { checkIdl } from "./checker";
export { isDuration, parseDuration } from "./duration";
export { GRPC_STATUS_NAMES } from "./grpc-status";
export * from "./model";
export { parseIdl } from "./parser";

/**
 * Parses and checks all files. Throws AggregateSpecError with every error:
 * the first syntax error of each file that does not parse (checking is then
 * skipped, as it would report echoes of those), or else all checker errors.
 */
export function loadIdl(paths: { file: string; text: string }[], protos: FileRegistry): IdlModel {
  const asts: IdlFileAst[] = [];
  const parseErrors: SpecError[] = [];
  for (const { file, text } of paths) {
    try {
      asts.push(parseIdl(file, text));
    } catch (e) {
      if (!(e instanceof SpecError)) throw e;
      parseErrors.push(e);
    }
  }
  if (parseErrors.length > 0) throw new AggregateSpecError(parseErrors.sort(compareSpecErrors));
  const { model, errors } = checkIdl(asts, protos);
  if (errors.length > 0) throw new AggregateSpecError(errors);
  return model;
}
