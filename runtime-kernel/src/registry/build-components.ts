import { errorText } from "../errors/error-mapping";
import { MetadataError } from "@ottavo/component-runtime";
import { ConfigError } from "../config/config-error";
import { ComponentTable } from "./component-table";
import { describeComponent, type ResolvedComponent } from "./resolve-components";
import { scopeSequencerFloors } from "./sequencer-floors";

/** Where the components are created from: the app and the config file's folder and name. */
export interface BuildContext {
  readonly appId: string;
  readonly configDir: string;
  /** The config file as the user named it, for messages. */
  readonly file: string;
}

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
      if (config.capability === "sequencer") {
        const floors = scopeSequencerFloors(settings, context.appId, config.name, metadata);
        if (floors.problems.length > 0) return Promise.reject(new MetadataError(floors.problems));
        componentSettings = floors.settings;
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
