import type { RuntimeHelloRpcs } from "@ottavo/generated/server/runtime-handlers";
import type { ComponentEntry, ComponentTable } from "../registry/component-table";
import { lookupComponent } from "./component-lookup";
import { atComponent } from "./call-context";

export function createHelloHandlers(table: ComponentTable): RuntimeHelloRpcs {
  /**
   * The named hello component. A blank or unknown name reaches the only one when
   * exactly one is configured, so `SayHello{}` works out of the box; otherwise
   * Layotto's "no instance found", with FAILED_PRECONDITION when none is configured
   * and INVALID_ARGUMENT for a name that matches none of several.
   */
  function hello(serviceName: string): ComponentEntry<"hello"> {
    const named = table.get("hello", serviceName);
    if (named !== undefined) return named;
    const all = table.list("hello");
    if (all.length === 1) return all[0];
    return lookupComponent(table, "hello", serviceName);
  }

  return {
    async sayHello(request, context) {
      const entry = hello(request.serviceName);
      const answer = await entry.component.sayHello({ name: request.name }, atComponent(context, entry.name));
      return { hello: answer.hello, data: request.data };
    },
  };
}
