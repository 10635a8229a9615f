// Abi-tour in AssemblyScript: the invocation's method names a host import
// ("get_state", "try_lock", ...), its body is the encoded request, and the answer is
// the encoded response, decoded and re-encoded by the generated messages on the way.
// The tests drive every import through it and compare with the gRPC API.
import { Abi, fail, log } from "../../../sdks/wasm/assemblyscript/runtime/abi";
import { callByName, serve } from "../../../sdks/wasm/assemblyscript/generated/calls";
import { Any, CommonInvokeRequest, InvokeResponse } from "../../../sdks/wasm/assemblyscript/generated/messages";

export { ottavo_alloc, ottavo_abi_version_1 } from "../../../sdks/wasm/assemblyscript/runtime/abi";

export function ottavo_handle(ptr: usize, len: u32): u32 {
  return serve(ptr, len, handle);
}

function handle(req: CommonInvokeRequest): InvokeResponse {
  const out = new InvokeResponse();
  const body = req.data === null ? new Uint8Array(0) : req.data!.value;
  if (req.method == "print") {
    log(2, "abi-tour logs " + String.UTF8.decodeUnsafe(body.dataStart, <usize>body.length));
    return out;
  }
  if (req.method == "abort") {
    assert(false, "abi-tour was asked to abort");
  }
  const answer = callByName(req.method, body);
  if (answer === null) {
    fail(Abi.lastStatus, Abi.lastMessage);
    return out;
  }
  const data = new Any();
  data.value = answer;
  out.data = data;
  return out;
}
