import type { CapabilityKind } from "@ottavo/generated/components/registry";
import type { ConfigReport } from "./config-error";
import type { ComponentConfig } from "./runtime-config";

/**
 * Reads one capability's map of components, `{ "<name>": { type, metadata?, ...extras } }`,
 * the same shape in Layotto's config.json and in Ottavo's YAML. `where` names the
 * map in the file for messages (e.g. "grpc_config.state" or "components.state").
 */
export function readComponentMap(
  report: ConfigReport,
  capability: CapabilityKind,
  where: string,
  value: unknown,
): ComponentConfig[] {
  if (value === null || value === undefined) return [];
  if (!isPlainObject(value)) {
    report.problem(`${where} must be a map of component names to components`);
    return [];
  }
  const components: ComponentConfig[] = [];
  for (const [name, entry] of Object.entries(value)) {
    const component = `${capability} component '${name}'`;
    if (!isPlainObject(entry)) {
      report.problem(`${component}: must be a map with at least 'type'`);
      continue;
    }
    const { type, metadata, ...extras } = entry;
    let ok = true;
    if (type === undefined || type === null || type === "") {
      report.problem(`${component}: missing 'type'`);
      ok = false;
    } else if (typeof type !== "string") {
      report.problem(`${component}: 'type' must be a string`);
      ok = false;
    }
    const described = typeof type === "string" && type !== "" ? `${component} (type '${type}')` : component;
    if (metadata !== undefined && metadata !== null && !isPlainObject(metadata)) {
      report.problem(`${described}: 'metadata' must be a map of field names to values`);
      ok = false;
    }
    if (!ok) continue;
    components.push({
      capability,
      name,
      type: type as string,
      metadata: isPlainObject(metadata) ? metadata : {},
      extras,
    });
  }
  return components;
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
