import type { RuntimeBindingRpcs } from "@ottavo/generated/server/runtime-handlers";
import type { ComponentTable } from "../registry/component-table";
import { lookupComponent } from "./component-lookup";
import { componentFailure } from "../errors/error-mapping";
import { callContext } from "./call-context";

export function createBindingHandlers(table: ComponentTable): RuntimeBindingRpcs {
  return {
    async invokeBinding(request, context) {
      const entry = lookupComponent(table, "binding", request.name);
      try {
        const result = await entry.component.invoke({
          operation: request.operation,
          data: request.data,
          metadata: request.metadata,
        }, callContext(context));
        return { data: result.data, metadata: result.metadata };
      } catch (error) {
        // Declared errors keep their codes (an unsupported operation is INVALID_ARGUMENT,
        // an unreachable system UNAVAILABLE); Layotto's text.
        throw componentFailure(error, (detail) => `error when invoke output binding ${entry.name}: ${detail}`);
      }
    },
  };
}
