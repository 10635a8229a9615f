import type { RuntimeSecretRpcs } from "@ottavo/generated/server/runtime-handlers";
import type { SecretResponseSchema } from "@ottavo/generated/spec/proto/runtime/v1/runtime_pb";
import type { MessageInitShape } from "@bufbuild/protobuf";
import type { ComponentTable } from "../registry/component-table";
import { lookupComponent } from "./component-lookup";
import { componentFailure } from "../errors/error-mapping";
import { callContext } from "./call-context";

/**
 * Failures keep the store's declared status: a missing secret is NOT_FOUND, as
 * spec/components/secret.cap says (Layotto and Dapr answer INTERNAL there, which a
 * client cannot tell from a broken store). The message keeps Layotto's wording.
 */
export function createSecretHandlers(table: ComponentTable): RuntimeSecretRpcs {
  return {
    async getSecret(request, context) {
      const entry = lookupComponent(table, "secret", request.storeName);
      try {
        return { data: await entry.component.get({ name: request.key, metadata: request.metadata }, callContext(context)) };
      } catch (error) {
        throw componentFailure(
          error,
          (detail) => `error when get secret : secret name => ${request.key},store name =>${entry.name},error => ${detail}`,
        );
      }
    },

    async getBulkSecret(request, context) {
      const entry = lookupComponent(table, "secret", request.storeName);
      let secrets: Record<string, Record<string, string>>;
      try {
        secrets = await entry.component.bulkGet({ metadata: request.metadata }, callContext(context));
      } catch (error) {
        throw componentFailure(error, (detail) => `error when bulk get secret ${entry.name}: ${detail}`);
      }
      const data: Record<string, MessageInitShape<typeof SecretResponseSchema>> = {};
      for (const [name, values] of Object.entries(secrets)) data[name] = { secrets: values };
      return { data };
    },
  };
}
