import type { CapabilityAdapterFactory } from "@ottavo/generated/components/registry";
import { httpBindingAdapter } from "./http-binding";

export { httpBindingAdapter, httpOperations } from "./http-binding";

/** The adapters of this package, for the kernel's registry. */
export const httpAdapters: readonly CapabilityAdapterFactory[] = [httpBindingAdapter];
