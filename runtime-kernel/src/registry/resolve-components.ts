import type { CapabilityAdapterFactory } from "@ottavo/generated/components/registry";
import { capabilityMetadataFields } from "@ottavo/generated/components/metadata-groups";
import {
  MetadataError,
  parseMetadata,
  unknownMetadataKeys,
  type MetadataFieldSpec,
  type RawMetadata,
} from "@ottavo/component-runtime";
import { ConfigReport } from "../config/config-error";
import type { ComponentConfig, RuntimeConfig } from "../config/runtime-config";
import type { AdapterRegistry } from "./adapter-registry";

/** A configured component matched to its adapter, with metadata ready to hand to create(). */
export interface ResolvedComponent {
  readonly config: ComponentConfig;
  readonly factory: CapabilityAdapterFactory;
  /** The file's metadata plus the top-level keys the adapter declares as metadata fields. */
  readonly metadata: RawMetadata;
  /** The other top-level keys (Layotto's biggerThan, address, timeout...). */
  readonly settings: Readonly<Record<string, unknown>>;
}

/** How messages name a component: `state component 'orders' (type 'in-memory')`. */
export function describeComponent(config: ComponentConfig): string {
  return `${config.capability} component '${config.name}' (type '${config.type}')`;
}

/**
 * Matches every component of the config to an adapter and validates its metadata
 * against the generated declaration, before anything is created. Every problem
 * of the file is reported at once (ConfigError); unknown metadata keys are only
 * warnings. No message carries a metadata value: values may be secrets.
 */
export function resolveComponents(
  config: RuntimeConfig,
  registry: AdapterRegistry,
): { components: ResolvedComponent[]; warnings: string[] } {
  const report = new ConfigReport(config.file);
  const components: ResolvedComponent[] = [];
  for (const component of config.components) {
    const described = describeComponent(component);
    const factory = registry.get(component.capability, component.type);
    if (!factory) {
      const known = registry.types(component.capability);
      report.problem(
        `${described}: unknown type; known ${component.capability} types: ${known.length > 0 ? known.join(", ") : "none"}`,
      );
      continue;
    }
    const fields = withCapabilityMetadata(component.capability, factory.metadata);
    const { metadata, settings, conflicts } = foldMetadata(component, fields);
    for (const key of conflicts) report.problem(`${described}: '${key}' is given both beside 'metadata' and inside it`);
    try {
      // Every field is treated as sensitive here so that type errors never echo a value.
      // A deprecated name is read as its replacement, with a warning.
      parseMetadata(
        metadata,
        fields.map((field) => ({ ...field, sensitive: true })),
        { warn: (message) => report.warning(`${described}: ${message}`) },
      );
    } catch (error) {
      if (!(error instanceof MetadataError)) throw error;
      for (const problem of error.problems) report.problem(`${described}: ${problem}`);
      continue;
    }
    for (const key of unknownMetadataKeys(metadata, fields)) {
      report.warning(`${described}: unknown metadata key '${key}'; ignored`);
    }
    if (conflicts.length === 0) components.push({ config: component, factory, metadata, settings });
  }
  report.throwIfProblems();
  return { components, warnings: report.warnings };
}

/**
 * An adapter's fields plus its capability's own (spec/components declares them
 * once per capability, and the runtime applies them): generated adapters have them
 * already; a vendor's registration gets them here, so its keyPrefix is validated
 * and applied like any other's.
 */
function withCapabilityMetadata(capability: string, fields: readonly MetadataFieldSpec[]): readonly MetadataFieldSpec[] {
  const inherited = (capabilityMetadataFields[capability] ?? []).filter((field) => !fields.some((own) => own.name === field.name));
  return inherited.length === 0 ? fields : [...fields, ...inherited];
}

/**
 * Layotto puts some metadata beside `metadata` (helloworld's "hello"): a
 * top-level key the adapter declares as a metadata field or alias joins the
 * metadata; every other top-level key is a setting.
 */
export function foldMetadata(
  component: ComponentConfig,
  fields: readonly MetadataFieldSpec[],
): { metadata: RawMetadata; settings: Record<string, unknown>; conflicts: string[] } {
  const declared = new Set(fields.flatMap((field) => [field.name, ...field.aliases, ...(field.deprecated ?? [])]));
  const metadata: Record<string, unknown> = { ...component.metadata };
  const settings: Record<string, unknown> = {};
  const conflicts: string[] = [];
  for (const [key, value] of Object.entries(component.extras)) {
    if (!declared.has(key)) settings[key] = value;
    else if (key in metadata) conflicts.push(key);
    else metadata[key] = value;
  }
  return { metadata, settings, conflicts };
}
