import { Code, ConnectError } from "@connectrpc/connect";
import type { RuntimeKernelRpcs } from "@ottavo/generated/server/runtime-handlers";

export const invokeServiceUnimplemented = "InvokeService is not implemented yet: service invocation is planned";

/** The rpcs the kernel answers itself. Service invocation comes with a later issue. */
export function createKernelHandlers(): RuntimeKernelRpcs {
  return {
    async invokeService() {
      throw new ConnectError(invokeServiceUnimplemented, Code.Unimplemented);
    },
  };
}
