import { Code, ConnectError } from "@connectrpc/connect";

/**
 * Reasons the header-served paths (the gRPC fast path, the Connect unary path)
 * give a call's aborted signal, made once so an abort allocates nothing; on first
 * use, since a ConnectError's Headers load undici (and compile its llhttp wasm):
 * not at start.
 */
let reasons: { completed: ConnectError; canceledByClient: ConnectError } | undefined;

export function abortReasons(): { readonly completed: ConnectError; readonly canceledByClient: ConnectError } {
  return (reasons ??= {
    completed: new ConnectError("the call completed", Code.Canceled),
    canceledByClient: new ConnectError("the client canceled the call", Code.Canceled),
  });
}
