import type { RawMetadata } from "@ottavo/component-runtime";
import type { SettingsHooks } from "../registry/build-components";
import { keySeparator } from "./key-prefix";
import { sequencerKeyScope } from "./sequencer-handlers";

/**
 * Layotto's `biggerThan` floors name the keys apps ask GetNextId for; the store
 * sees those keys scoped ("sequencer|||<app>||orders"). Floors are scoped the same
 * way before the adapter applies them, so `biggerThan: { orders: 100 }` means what
 * it says (upstream passes the raw keys and the floors never match).
 */
export function scopeSequencerFloors(
  settings: Readonly<Record<string, unknown>>,
  appId: string,
  componentName: string,
  metadata: RawMetadata,
): { settings: Readonly<Record<string, unknown>>; problems: string[] } {
  const floors = settings.biggerThan;
  if (floors === undefined || floors === null || typeof floors !== "object" || Array.isArray(floors)) {
    // Absent, or not a map: the adapter reports a malformed value itself.
    return { settings, problems: [] };
  }
  const prefix = sequencerKeyScope(appId).prefixFor(componentName, metadata);
  const scoped: Record<string, unknown> = {};
  const problems: string[] = [];
  for (const [key, floor] of Object.entries(floors)) {
    if (key.includes(keySeparator)) problems.push(`biggerThan key '${key}' can't contain '${keySeparator}'`);
    else scoped[prefix + key] = floor;
  }
  return { settings: { ...settings, biggerThan: scoped }, problems };
}

/** The kernel's per-capability settings hooks, which the registry runs before an adapter is created. */
export const kernelSettingsHooks: SettingsHooks = { sequencer: scopeSequencerFloors };
