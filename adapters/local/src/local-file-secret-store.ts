import { constants, promises as fs } from "node:fs";
import * as path from "node:path";
import {
  NotFoundError,
  type BulkSecretRequest,
  type SecretRequest,
} from "@ottavo/generated/components/secret";
import {
  defineLocalFileSecretAdapter,
  type LocalFileSecret,
} from "@ottavo/generated/components/adapters/local-file";

type Secrets = ReadonlyMap<string, Readonly<Record<string, string>>>;

/**
 * The "local.file" secret component, with Dapr's semantics. The file is read once,
 * at start; a missing, unreadable or malformed file stops the start with an error
 * naming it.
 *
 * Without multiValued every leaf of the JSON is one secret, named by its keys joined
 * with nestedSeparator (array items by their index), whose map holds that name alone:
 * {"db": {"user": "u"}} gives the secret "db:user" = {"db:user": "u"}.
 * With multiValued each top-level key is one secret: an object or array becomes the
 * map of its flattened leaves, a scalar becomes {name: value}.
 * Numbers and booleans read as their JSON text, null as "".
 */
export const localFileSecretAdapter = defineLocalFileSecretAdapter(async (metadata, context) => {
  const file = path.resolve(context.configDir, metadata.secretsFile);
  const fail = (why: string, cause?: unknown): Error =>
    new Error(`local.file secret store '${context.componentName}': secrets file ${file} ${why}`, { cause });
  let text: string;
  try {
    text = await fs.readFile(file, "utf8");
  } catch (err) {
    throw fail(`cannot be read: ${(err as Error).message}`, err);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw fail(`is not valid JSON: ${(err as Error).message}`, err);
  }
  if (!isObject(json)) throw fail("must hold a JSON object at the top level");
  let secrets: Secrets;
  try {
    secrets = metadata.multiValued
      ? multiValuedSecrets(json, metadata.nestedSeparator)
      : flatSecrets(json, metadata.nestedSeparator);
  } catch (err) {
    throw fail((err as Error).message, err);
  }
  return new LocalFileSecretStore(file, secrets);
});

class LocalFileSecretStore implements LocalFileSecret {
  readonly features = new Set<never>();

  constructor(
    private readonly file: string,
    private readonly secrets: Secrets,
  ) {}

  async get(request: SecretRequest): Promise<Record<string, string>> {
    const secret = this.secrets.get(request.name);
    if (secret === undefined) throw new NotFoundError(`secret '${request.name}' is not in ${path.basename(this.file)}`);
    return { ...secret };
  }

  async bulkGet(_request: BulkSecretRequest): Promise<Record<string, Record<string, string>>> {
    const all: Record<string, Record<string, string>> = {};
    for (const [name, secret] of this.secrets) all[name] = { ...secret };
    return all;
  }

  // The secrets are held in memory; health says whether a restart could read them again.
  async health(): Promise<void> {
    await fs.access(this.file, constants.R_OK);
  }

  async close(): Promise<void> {}
}

function flatSecrets(json: Record<string, unknown>, separator: string): Secrets {
  const secrets = new Map<string, Record<string, string>>();
  for (const [name, value] of flatten(json, separator)) secrets.set(name, { [name]: value });
  return secrets;
}

function multiValuedSecrets(json: Record<string, unknown>, separator: string): Secrets {
  const secrets = new Map<string, Record<string, string>>();
  for (const [name, value] of Object.entries(json)) {
    if (isObject(value) || Array.isArray(value)) {
      secrets.set(name, Object.fromEntries(flatten(value, separator)));
    } else {
      secrets.set(name, { [name]: scalarText(value) });
    }
  }
  return secrets;
}

/** Every leaf of a JSON value with its joined key path; two leaves with one path are an error. */
function flatten(root: Record<string, unknown> | unknown[], separator: string): Map<string, string> {
  const leaves = new Map<string, string>();
  const visit = (value: unknown, keys: string[]): void => {
    if (isObject(value) || Array.isArray(value)) {
      for (const [key, child] of Object.entries(value)) visit(child, [...keys, key]);
      return;
    }
    const name = keys.join(separator);
    if (leaves.has(name)) throw new Error(`names the secret '${name}' twice; rename one of them or change nestedSeparator`);
    leaves.set(name, scalarText(value));
  };
  visit(root, []);
  return leaves;
}

function scalarText(value: unknown): string {
  if (typeof value === "string") return value;
  if (value === null) return "";
  return String(value);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
