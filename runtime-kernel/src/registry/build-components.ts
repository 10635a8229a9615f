import { errorText } from "../errors/error-mapping";
import { MetadataError } from "@ottavo/component-runtime";
import { ConfigError } from "../config/config-error";
import { ComponentTable } from "./component-table";
import { describeComponent, type ResolvedComponent } from "./resolve-components";
import type { CapabilityKind } from "@ottavo/generated/components/registry";
import type { RawMetadata } from "@ottavo/component-runtime";

/** Where the components are created from: the app and the config file's folder and name. */
export interface BuildContext {
  readonly appId: string;
  readonly configDir: string;
  /** The config file as the user named it, for messages. */
  readonly file: string;
  /** Per capability, what the kernel does to a component's settings before its adapter sees them. */
  readonly settingsHooks?: SettingsHooks;
}

/**
 * Rewrites a component's settings before creation (the sequencer's biggerThan
 * floors are scoped as its keys are, say); problems fail the start like metadata's.
 * A hook per capability keeps the generic builder free of capability names.
 */
export type SettingsHook = (
  settings: Readonly<Record<string, unknown>>,
  appId: string,
  componentName: string,
  metadata: RawMetadata,
) => { settings: Readonly<Record<string, unknown>>; problems: string[] };

export type SettingsHooks = Partial<Record<CapabilityKind, SettingsHook>>;

/**
 * Creates every resolved component, all at once (start-up time is the slowest
 * backend, not their sum), and fills the table in config order. If any creation
 * fails, the ones that succeeded are closed and every failure is reported in one
 * ConfigError, so the runtime never starts half-built.
 */
export async function buildComponents(components: readonly ResolvedComponent[], context: BuildContext): Promise<ComponentTable> {
  const problems: string[] = [];
  const results = await Promise.allSettled(
    components.map(({ config, factory, metadata, settings }) => {
      let componentSettings = settings;
      const hook = context.settingsHooks?.[config.capability];
      if (hook !== undefined) {
        const hooked = hook(settings, context.appId, config.name, metadata);
        if (hooked.problems.length > 0) return Promise.reject(new MetadataError(hooked.problems));
        componentSettings = hooked.settings;
      }
      return factory.create(metadata, {
        componentName: config.name,
        appId: context.appId,
        configDir: context.configDir,
        settings: componentSettings,
      });
    }),
  );
  results.forEach((result, index) => {
    if (result.status === "fulfilled") return;
    const described = `${context.file}: ${describeComponent(components[index].config)}`;
    const reasons = result.reason instanceof MetadataError ? result.reason.problems : [errorText(result.reason)];
    for (const reason of reasons) problems.push(`${described}: ${reason}`);
  });
  if (problems.length > 0) {
    await closeAll(results.flatMap((r) => (r.status === "fulfilled" ? [r.value] : [])));
    throw new ConfigError(problems);
  }

  const table = new ComponentTable(context.appId);
  results.forEach((result, index) => {
    const { config, metadata } = components[index];
    if (result.status !== "fulfilled") return;
    table.add({ capability: config.capability, name: config.name, type: config.type, component: result.value, metadata });
  });
  return table;
}

/** Closes components concurrently; a failing close goes to onError and does not stop the others. */
export async function closeAll(components: readonly { close(): Promise<void> }[], onError?: (error: unknown, index: number) => void): Promise<void> {
  await Promise.all(
    components.map((component, index) =>
      Promise.resolve()
        .then(() => component.close())
        .catch((error: unknown) => onError?.(error, index)),
    ),
  );
}
