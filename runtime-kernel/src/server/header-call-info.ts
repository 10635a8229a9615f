import type * as http from "node:http";
import type { DescMethodUnary } from "@bufbuild/protobuf";
import type { ContextValues } from "@connectrpc/connect";
import { CallValues } from "./call-values";
import type { CallInfo, CallProtocol } from "./pipeline";

/**
 * What the pipeline's steps see of a unary call served from node's request
 * headers (the gRPC fast path and the Connect unary path). A class: V8 makes
 * object literals with a getter slow.
 */
export class HeaderCallInfo implements CallInfo {
  readonly service: string;
  readonly method: string;
  readonly streaming = false;
  /** Made only when a step asks for them (tracing), then handed to the handler's context. */
  setValues: ContextValues | undefined;

  constructor(
    private readonly headers: http.IncomingHttpHeaders,
    method: DescMethodUnary,
    readonly protocol: CallProtocol,
  ) {
    this.service = method.parent.typeName;
    this.method = method.name;
  }

  header(name: string): string | undefined {
    const value = this.headers[name];
    return Array.isArray(value) ? value[0] : value;
  }

  get values(): ContextValues {
    return (this.setValues ??= new CallValues());
  }
}
