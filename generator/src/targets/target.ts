import type { OutputFile } from "../output/output-file";
import type { SpecModel } from "../spec-model";

/**
 * One output of the spec compiler. A target reads the model and returns files;
 * it never writes, so one failing target leaves generated/ untouched, and adding
 * a target touches no other.
 */
export interface Target {
  readonly name: string;
  generate(spec: SpecModel): OutputFile[];
}

/** A target's failure, naming the target and the spec element it was working on. */
export class TargetError extends Error {
  constructor(readonly target: string, readonly element: string, detail: string) {
    super(`target '${target}' failed at ${element}: ${detail}`);
  }
}
