import type { RuntimeBindingRpcs } from "@ottavo/generated/server/runtime-handlers";
import type { ComponentTable } from "../registry/component-table";
import { lookupComponent } from "./component-lookup";
import { atComponent } from "./call-context";

export function createBindingHandlers(table: ComponentTable): RuntimeBindingRpcs {
  return {
    async invokeBinding(request, context) {
      const entry = lookupComponent(table, "binding", request.name);
      // A failure keeps its declared code (an unsupported operation is INVALID_ARGUMENT,
      // an unreachable system UNAVAILABLE), in Layotto's words.
      const result = await entry.component.invoke({
        operation: request.operation,
        data: request.data,
        metadata: request.metadata,
      }, atComponent(context, entry.name));
      return { data: result.data, metadata: result.metadata };
    },
  };
}
