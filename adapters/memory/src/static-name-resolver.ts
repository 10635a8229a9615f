import { MetadataError } from "@ottavo/component-runtime";
import type { ResolveRequest } from "@ottavo/generated/components/nameresolution";
import {
  defineStaticNameresolutionAdapter,
  staticNameresolutionFeatures,
  type StaticNameresolution,
} from "@ottavo/generated/components/adapters/static";

/** A fixed table of app ids and the addresses (host:port) of their runtimes, from the config's `apps`. */
export class StaticNameResolver implements StaticNameresolution {
  readonly features = new Set(staticNameresolutionFeatures);

  constructor(private readonly apps: ReadonlyMap<string, readonly string[]>) {}

  async resolve(request: ResolveRequest): Promise<string[]> {
    return [...(this.apps.get(request.appId) ?? [])];
  }

  async health(): Promise<void> {}

  async close(): Promise<void> {}
}

/**
 * Reads `apps: { <app id>: "host:port" | ["host:port", ...] }` (a setting beside
 * the type, since metadata holds scalars only); every problem at once.
 */
export function readStaticTable(apps: unknown): Map<string, string[]> {
  const problems: string[] = [];
  const table = new Map<string, string[]>();
  if (typeof apps !== "object" || apps === null || Array.isArray(apps)) {
    throw new MetadataError(["'apps' must be a map of app ids to host:port (or lists of them)"]);
  }
  for (const [id, value] of Object.entries(apps)) {
    const addresses = Array.isArray(value) ? value : [value];
    const bad = addresses.filter((a) => typeof a !== "string" || !/^[^\s/]+:\d{1,5}$/.test(a));
    if (bad.length > 0 || addresses.length === 0) problems.push(`'apps.${id}' must be host:port or a list of them`);
    else table.set(id, addresses as string[]);
  }
  if (problems.length > 0) throw new MetadataError(problems);
  return table;
}

/** The "static" nameresolution adapter, as the registry holds it. */
export const staticNameresolutionAdapter = defineStaticNameresolutionAdapter(
  async (_metadata, context) => new StaticNameResolver(readStaticTable(context.settings.apps ?? {})),
);
