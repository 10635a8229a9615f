import { existsSync } from "node:fs";
import * as path from "node:path";
import type { RawMetadata } from "@ottavo/component-runtime";
import type { CapabilityAdapterFactory } from "@ottavo/generated/components/registry";
import { hasConformanceSuite, type ConformanceTarget } from "./describe-conformance";

/** The adapters a vendor asked to prove, read from the environment. */
export interface VendorTargets {
  readonly targets: readonly ConformanceTarget[];
  /** Factories found whose capability has no suite yet, as "<type> <capability>". */
  readonly skipped: readonly string[];
}

export const VENDOR_USAGE = `Run the conformance suite against your adapter:

  CONFORMANCE_ADAPTER=<module> CONFORMANCE_METADATA='<json object>' \\
    npx jest -c adapters/conformance/jest.vendor.config.js

  CONFORMANCE_ADAPTER     a module (path from the current folder, .ts or .js, or a package name)
                          exporting adapter factories: as its export, its default export, or any
                          named export, each a factory or an array of factories (required)
  CONFORMANCE_METADATA    the metadata to create each component with, as JSON (default {})
  CONFORMANCE_SETTINGS    settings beside metadata (AdapterContext.settings), as JSON (default {})
  CONFORMANCE_FIXTURE     what the cases need of the backend, as JSON: {"echoOperation": "post"} for a binding
  CONFORMANCE_CAPABILITY  only factories of this capability (state, lock, sequencer, configuration, pubsub, file, secret, binding)
  CONFORMANCE_TYPE        only factories of this type name (e.g. "redis")`;

/**
 * Reads CONFORMANCE_* from env, loads the module and finds its factories. Throws
 * with the usage text when something is missing or wrong, so the run fails and says why.
 */
export function loadVendorTargets(
  env: Readonly<Record<string, string | undefined>>,
  cwd: string,
  load: (id: string) => unknown = require,
): VendorTargets {
  const adapter = env["CONFORMANCE_ADAPTER"]?.trim();
  if (!adapter) throw usageError("CONFORMANCE_ADAPTER is not set");
  const metadata = jsonObject(env, "CONFORMANCE_METADATA");
  const settings = jsonObject(env, "CONFORMANCE_SETTINGS");
  const fixture = jsonObject(env, "CONFORMANCE_FIXTURE");
  const id = looksLikePath(adapter, cwd) ? path.resolve(cwd, adapter) : adapter;

  let exported: unknown;
  try {
    exported = load(id);
  } catch (error) {
    throw usageError(`CONFORMANCE_ADAPTER '${adapter}' could not be loaded: ${error instanceof Error ? error.message : String(error)}`);
  }
  const wantedCapability = env["CONFORMANCE_CAPABILITY"]?.trim() || undefined;
  const wantedType = env["CONFORMANCE_TYPE"]?.trim() || undefined;
  const found = factoriesIn(exported).filter(
    (f) => (wantedCapability === undefined || f.capability === wantedCapability) && (wantedType === undefined || f.type === wantedType),
  );
  const targets = found
    .filter((f) => hasConformanceSuite(f.capability))
    .map((factory): ConformanceTarget => ({ factory, metadata, settings, fixture, label: `${factory.type} ${factory.capability} from ${adapter}` }));
  const skipped = found.filter((f) => !hasConformanceSuite(f.capability)).map((f) => `${f.type} ${f.capability}`);
  if (targets.length === 0) {
    const filters = [wantedCapability && `capability ${wantedCapability}`, wantedType && `type ${wantedType}`].filter(Boolean).join(" and ");
    throw usageError(
      `CONFORMANCE_ADAPTER '${adapter}' exports no adapter factory${filters ? ` of ${filters}` : ""} with a conformance suite` +
        (skipped.length > 0 ? ` (found only ${skipped.join(", ")})` : ""),
    );
  }
  return { targets, skipped };
}

/** A path (from cwd) rather than a package name: "./x", "/abs/x", or a file that exists as given or with .ts/.js. */
function looksLikePath(adapter: string, cwd: string): boolean {
  if (adapter.startsWith(".") || path.isAbsolute(adapter)) return true;
  const resolved = path.resolve(cwd, adapter);
  return ["", ".ts", ".js"].some((ext) => existsSync(resolved + ext));
}

/** Factories among a module's exports: the export itself, or its (default and named) members, or arrays of them. */
function factoriesIn(exported: unknown): CapabilityAdapterFactory[] {
  const found = new Set<CapabilityAdapterFactory>();
  const visit = (value: unknown): void => {
    if (isAdapterFactory(value)) found.add(value);
    else if (Array.isArray(value)) for (const v of value) if (isAdapterFactory(v)) found.add(v);
  };
  visit(exported);
  if (typeof exported === "object" && exported !== null && !isAdapterFactory(exported) && !Array.isArray(exported)) {
    for (const value of Object.values(exported)) {
      visit(value);
      // `export default [...]` compiled to CommonJS sits one level down.
      if (typeof value === "object" && value !== null && !Array.isArray(value) && !isAdapterFactory(value)) {
        for (const inner of Object.values(value)) visit(inner);
      }
    }
  }
  return [...found];
}

/** The shape of AdapterFactory, checked at runtime since the module is anyone's. */
export function isAdapterFactory(value: unknown): value is CapabilityAdapterFactory {
  if (typeof value !== "object" || value === null) return false;
  const v = value as Record<string, unknown>;
  return (
    typeof v["capability"] === "string" &&
    typeof v["type"] === "string" &&
    Array.isArray(v["features"]) &&
    v["features"].every((f) => typeof f === "string") &&
    Array.isArray(v["metadata"]) &&
    typeof v["create"] === "function"
  );
}

function jsonObject(env: Readonly<Record<string, string | undefined>>, name: string): RawMetadata {
  const text = env[name]?.trim();
  if (!text) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    // The text is not echoed: metadata may hold passwords.
    throw usageError(`${name} is not valid JSON (${error instanceof Error ? error.message : String(error)})`);
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    throw usageError(`${name} must be a JSON object, not ${Array.isArray(parsed) ? "an array" : parsed === null ? "null" : `a ${typeof parsed}`}`);
  }
  return parsed as RawMetadata;
}

function usageError(problem: string): Error {
  return new Error(`${problem}\n\n${VENDOR_USAGE}`);
}
