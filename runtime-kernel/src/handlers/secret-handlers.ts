import type { RuntimeSecretRpcs } from "@ottavo/generated/server/runtime-handlers";
import type { SecretResponseSchema } from "@ottavo/generated/spec/proto/runtime/v1/runtime_pb";
import type { MessageInitShape } from "@bufbuild/protobuf";
import type { ComponentTable } from "../registry/component-table";
import { lookupComponent } from "./component-lookup";
import { atComponent } from "./call-context";

/**
 * Failures keep the store's declared status: a missing secret is NOT_FOUND, as
 * spec/components/secret.cap says (Layotto and Dapr answer INTERNAL there, which a
 * client cannot tell from a broken store). The message keeps Layotto's wording.
 */
export function createSecretHandlers(table: ComponentTable): RuntimeSecretRpcs {
  return {
    async getSecret(request, context) {
      const entry = lookupComponent(table, "secret", request.storeName);
      return { data: await entry.component.get({ name: request.key, metadata: request.metadata }, atComponent(context, entry.name, request.key)) };
    },

    async getBulkSecret(request, context) {
      const entry = lookupComponent(table, "secret", request.storeName);
      const secrets = await entry.component.bulkGet({ metadata: request.metadata }, atComponent(context, entry.name));
      const data: Record<string, MessageInitShape<typeof SecretResponseSchema>> = {};
      for (const [name, values] of Object.entries(secrets)) data[name] = { secrets: values };
      return { data };
    },
  };
}
