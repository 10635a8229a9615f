import type { CallOptions } from "@connectrpc/connect";
import { errorInfoDomain, typedErrors } from "../gen/errors.js";
import { toOttavoError } from "./errors.js";

/** What every method accepts besides its request fields. */
export interface CallSettings {
  /** Aborting it cancels the call (and ends a subscription). */
  signal?: AbortSignal;
  /** A deadline for the call, in milliseconds. */
  timeoutMs?: number;
  /** Extra request headers (gRPC metadata). */
  headers?: Readonly<Record<string, string>>;
}

export function callOptions(settings: CallSettings): CallOptions {
  const options: CallOptions = {};
  if (settings.signal !== undefined) options.signal = settings.signal;
  if (settings.timeoutMs !== undefined) options.timeoutMs = settings.timeoutMs;
  if (settings.headers !== undefined) options.headers = { ...settings.headers };
  return options;
}

/** Runs one call and turns its failure into the typed error of the capability. */
export async function guard<T>(capability: string | undefined, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    throw toOttavoError(error, capability, typedErrors, errorInfoDomain);
  }
}

/** The same for a stream of answers: an error while reading is typed too. */
export async function* guardStream<T>(capability: string | undefined, open: () => AsyncIterable<T>): AsyncIterable<T> {
  try {
    yield* open();
  } catch (error) {
    throw toOttavoError(error, capability, typedErrors, errorInfoDomain);
  }
}

/** A nested request message whose fields are all unset is left out (an Etag with no value is no etag). */
export function present<T extends object>(init: T): T | undefined {
  return Object.values(init).some((value) => value !== undefined) ? init : undefined;
}
