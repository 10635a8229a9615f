import type { CapabilityAdapterFactory } from "@ottavo/generated/components/registry";
import { localEnvSecretAdapter } from "./env-secret-store";
import { localFileSecretAdapter } from "./local-file-secret-store";
import { localFileAdapter } from "./local-file-store";

export { localEnvSecretAdapter } from "./env-secret-store";
export { localFileSecretAdapter } from "./local-file-secret-store";
export { chunkSize, localFileAdapter } from "./local-file-store";

/** The adapters of this package, for the kernel's registry. */
export const localAdapters: readonly CapabilityAdapterFactory[] = [
  localFileAdapter,
  localFileSecretAdapter,
  localEnvSecretAdapter,
];
