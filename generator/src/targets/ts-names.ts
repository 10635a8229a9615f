/** Names that TypeScript targets derive from spec names, in one place so targets agree. */

/** "in-memory" -> "InMemory", "local.file" -> "LocalFile", "state" -> "State". */
export function pascalCase(name: string): string {
  return name
    .split(/[^A-Za-z0-9]+/)
    .filter((part) => part.length > 0)
    .map((part) => part[0].toUpperCase() + part.slice(1))
    .join("");
}

/** "in-memory" -> "inMemory". */
export function camelCase(name: string): string {
  const pascal = pascalCase(name);
  return pascal[0].toLowerCase() + pascal.slice(1);
}

/** A file-name-safe form: "local.file" -> "local-file". */
export function fileStem(name: string): string {
  return name.replace(/[^A-Za-z0-9]+/g, "-").toLowerCase();
}

/** The generated module of a capability's types and interface. */
export function capabilityModule(capability: string): string {
  return `./components/${fileStem(capability)}`;
}

/** The generated module of the shared errors (declared outside capabilities); no capability may be named "errors". */
export const sharedErrorsModule = "./components/errors";

/** The generated module of one adapter type's metadata and factory helpers. */
export function adapterModule(adapterType: string): string {
  return `./components/adapters/${fileStem(adapterType)}`;
}

/** The generated module of every metadata group's interface and field table. */
export function metadataGroupsModule(): string {
  return "./components/metadata-groups";
}

/** The `@param` lines and text of a JSDoc block, or nothing when there is no doc. */
export function docLines(doc: string): string[] {
  return doc.length > 0 ? doc.split("\n") : [];
}
