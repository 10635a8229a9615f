// Stock, in AssemblyScript: GET /stock?name=book1 on the function port answers
// "There are 100 inventories for book1." once the state store state_demo holds
// book1 = 100. Layotto's FaaS quickstart in one function, on Ottavo's typed ABI.
//
// Build: npx asc examples/faas/assemblyscript/stock.ts -o stock.wasm --runtime incremental --optimize
import { fail, Status } from "../../../sdks/wasm/assemblyscript/runtime/abi";
import { Abi } from "../../../sdks/wasm/assemblyscript/runtime/abi";
import { serve, state } from "../../../sdks/wasm/assemblyscript/generated/calls";
import { Any, CommonInvokeRequest, GetStateRequest, InvokeResponse } from "../../../sdks/wasm/assemblyscript/generated/messages";

export { ottavo_alloc, ottavo_abi_version_1 } from "../../../sdks/wasm/assemblyscript/runtime/abi";

export function ottavo_handle(ptr: usize, len: u32): u32 {
  return serve(ptr, len, handle);
}

function handle(req: CommonInvokeRequest): InvokeResponse {
  const out = new InvokeResponse();
  const name = queryParam(req.httpExtension === null ? "" : req.httpExtension!.querystring, "name");
  if (name.length == 0) {
    fail(Status.INVALID_ARGUMENT, "name the book: ?name=<book>");
    return out;
  }
  const get = new GetStateRequest();
  get.storeName = "state_demo";
  get.key = name;
  const found = state.getState(get);
  if (found === null) {
    fail(Abi.lastStatus, Abi.lastMessage);
    return out;
  }
  const count = String.UTF8.decodeUnsafe(found.data.dataStart, <usize>found.data.length);
  const data = new Any();
  data.value = Uint8Array.wrap(String.UTF8.encode("There are " + count + " inventories for " + name + "."));
  out.data = data;
  out.contentType = "text/plain";
  return out;
}

function queryParam(query: string, key: string): string {
  const pairs = query.split("&");
  for (let i = 0; i < pairs.length; i++) {
    const at = pairs[i].indexOf("=");
    if (at > 0 && pairs[i].substring(0, at) == key) return pairs[i].substring(at + 1);
  }
  return "";
}
