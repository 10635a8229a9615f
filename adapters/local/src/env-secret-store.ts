import {
  NotFoundError,
  type BulkSecretRequest,
  type SecretRequest,
} from "@ottavo/generated/components/secret";
import {
  defineLocalEnvSecretAdapter,
  type LocalEnvSecret,
} from "@ottavo/generated/components/adapters/local-env";

/**
 * The "local.env" secret component: each environment variable is a secret
 * {name: value}. Only variables starting with the prefix (required, and not blank:
 * spec/components/adapters/local.cap) count, and the
 * prefix is not part of the secret's name. process.env is read on every call, so
 * a variable set after start is seen.
 */
export const localEnvSecretAdapter = defineLocalEnvSecretAdapter(async (metadata) => new EnvSecretStore(metadata.prefix));

class EnvSecretStore implements LocalEnvSecret {
  readonly features = new Set<never>();

  constructor(private readonly prefix: string) {}

  async get(request: SecretRequest): Promise<Record<string, string>> {
    const value = request.name === "" ? undefined : process.env[this.prefix + request.name];
    if (value === undefined) {
      throw new NotFoundError(`secret '${request.name}' is not set: no environment variable ${this.prefix}${request.name}`);
    }
    return { [request.name]: value };
  }

  async bulkGet(_request: BulkSecretRequest): Promise<Record<string, Record<string, string>>> {
    const all: Record<string, Record<string, string>> = {};
    for (const [key, value] of Object.entries(process.env)) {
      if (value === undefined || !key.startsWith(this.prefix) || key.length === this.prefix.length) continue;
      const name = key.slice(this.prefix.length);
      all[name] = { [name]: value };
    }
    return all;
  }

  async health(): Promise<void> {}

  async close(): Promise<void> {}
}
