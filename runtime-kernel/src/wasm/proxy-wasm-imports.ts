import { packFields } from "./host-bridge";
import { suspendedStatus, type HostCalls } from "./host-calls";
import { placeInGuest, type GuestMemory } from "./guest-memory";

/** Proxy-Wasm 0.2 statuses. */
export const proxyStatus = {
  ok: 0,
  notFound: 1,
  badArgument: 2,
  invalidMemoryAccess: 6,
  internalFailure: 10,
  unimplemented: 12,
} as const;

/** Buffer types: proxy-wasm's, plus Layotto's call data (8). */
const buffer = { requestBody: 0, responseBody: 1, vmConfiguration: 6, pluginConfiguration: 7, callData: 8 } as const;
/** Header map types. */
const headerMap = { requestHeaders: 0, requestTrailers: 1, responseHeaders: 2, responseTrailers: 3 } as const;

type Pairs = [string, string][];

/** Layotto's two host-call imports (module env), each with the host call (op) it makes: the ones that may have to wait for a backend. */
export const proxyHostCallImports: Readonly<Record<string, string>> = { proxy_get_state: "proxy.get_state", proxy_invoke_service: "proxy.invoke_service" };

/** The state of one proxy-wasm context (an HTTP request), which the imports read and write. */
export class ProxyContext {
  requestHeaders: Pairs = [];
  requestBody: Uint8Array = new Uint8Array(0);
  responseHeaders: Pairs = [];
  responseBody: Uint8Array = new Uint8Array(0);
  localStatus: number | undefined;
  callData: Uint8Array = new Uint8Array(0);

  constructor(
    readonly vmConfig: Uint8Array,
    readonly pluginConfig: Uint8Array,
  ) {}

  reset(headers: readonly (readonly [string, string])[], body: Uint8Array): void {
    this.requestHeaders = headers.map(([k, v]) => [k, v]);
    this.requestBody = body;
    this.responseHeaders = [];
    this.responseBody = new Uint8Array(0);
    this.localStatus = undefined;
  }
}

export interface ProxyHost {
  memory(): GuestMemory;
  alloc(size: number): number;
  bridge: HostCalls;
  context: ProxyContext;
  log(level: number, line: string): void;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * The `env` imports of Layotto's FaaS ABI: the proxy-wasm calls its Go host
 * registers that a function uses, and Layotto's proxy_get_state and
 * proxy_invoke_service, which go to the runtime through the bridge. Every other
 * proxy_* import the module names answers UNIMPLEMENTED, so modules built against
 * a wider SDK still link.
 */
export function proxyWasmImports(host: ProxyHost, wanted: readonly string[]): Record<string, (...args: never[]) => number | void> {
  const mem = () => host.memory();
  const ctx = () => host.context;
  const str = (ptr: number, len: number) => {
    const b = mem().read(ptr, len);
    return b === undefined ? undefined : decoder.decode(b);
  };

  /** Hands bytes to the guest through its allocator and the two out-pointers. */
  const give = (data: Uint8Array, ptrPtr: number, sizePtr: number): number => {
    if (!mem().writable(ptrPtr, sizePtr)) return proxyStatus.invalidMemoryAccess;
    if (data.length === 0) {
      mem().writeU32(ptrPtr, 0);
      mem().writeU32(sizePtr, 0);
      return proxyStatus.ok;
    }
    const at = placeInGuest(mem(), (n) => host.alloc(n), data);
    if (at === undefined) return proxyStatus.invalidMemoryAccess;
    mem().writeU32(ptrPtr, at);
    mem().writeU32(sizePtr, data.length);
    return proxyStatus.ok;
  };

  const headersOf = (type: number): Pairs | undefined =>
    type === headerMap.requestHeaders ? ctx().requestHeaders : type === headerMap.responseHeaders ? ctx().responseHeaders : undefined;

  const bufferOf = (type: number): Uint8Array | undefined => {
    const c = ctx();
    switch (type) {
      case buffer.requestBody:
        return c.requestBody;
      case buffer.responseBody:
        return c.responseBody;
      case buffer.vmConfiguration:
        return c.vmConfig;
      case buffer.pluginConfiguration:
        return c.pluginConfig;
      case buffer.callData:
        return c.callData;
      default:
        return undefined;
    }
  };

  /** Replaces [start, start+size) of a buffer with data; a start past the end appends (AppendHttpResponseBody). */
  const splice = (old: Uint8Array, start: number, size: number, data: Uint8Array): Uint8Array => {
    const from = Math.min(start >>> 0, old.length);
    const to = Math.min(from + (size >>> 0), old.length);
    const out = new Uint8Array(from + data.length + (old.length - to));
    out.set(old.subarray(0, from));
    out.set(data, from);
    out.set(old.subarray(to), from + data.length);
    return out;
  };

  /** A host call through the bridge whose answer is handed to the guest; runtime errors read as INTERNAL_FAILURE, as in Layotto. */
  const runtimeCall = (op: string, fields: Uint8Array[], ptrPtr: number, sizePtr: number): number => {
    if (!mem().writable(ptrPtr, sizePtr)) return proxyStatus.invalidMemoryAccess;
    const answer = host.bridge.call(op, packFields(fields));
    if (answer.status === suspendedStatus) return proxyStatus.ok;
    if (answer.status !== 0) {
      host.log(3, `${op} failed: ${decoder.decode(answer.body)}`);
      return proxyStatus.internalFailure;
    }
    return give(answer.body, ptrPtr, sizePtr);
  };

  const imports: Record<string, (...args: never[]) => number | void> = {
    proxy_log: (level: number, ptr: number, size: number) => {
      const line = str(ptr, size);
      if (line === undefined) return proxyStatus.invalidMemoryAccess;
      host.log(level, line);
      return proxyStatus.ok;
    },
    proxy_get_buffer_bytes: (type: number, start: number, maxSize: number, ptrPtr: number, sizePtr: number) => {
      const b = bufferOf(type);
      if (b === undefined) return proxyStatus.badArgument;
      const from = Math.min(start >>> 0, b.length);
      return give(b.subarray(from, Math.min(b.length, from + (maxSize >>> 0))), ptrPtr, sizePtr);
    },
    proxy_get_buffer_status: (type: number, lengthPtr: number, flagsPtr: number) => {
      const b = bufferOf(type);
      if (b === undefined) return proxyStatus.badArgument;
      return mem().writeU32(lengthPtr, b.length) && mem().writeU32(flagsPtr, 0) ? proxyStatus.ok : proxyStatus.invalidMemoryAccess;
    },
    proxy_set_buffer_bytes: (type: number, start: number, size: number, dataPtr: number, dataSize: number) => {
      const data = mem().read(dataPtr, dataSize);
      if (data === undefined) return proxyStatus.invalidMemoryAccess;
      const c = ctx();
      if (type === buffer.responseBody) c.responseBody = splice(c.responseBody, start, size, data);
      else if (type === buffer.requestBody) c.requestBody = splice(c.requestBody, start, size, data);
      else if (type === buffer.callData) c.callData = splice(c.callData, start, size, data);
      else return proxyStatus.badArgument;
      return proxyStatus.ok;
    },
    proxy_get_header_map_value: (type: number, keyPtr: number, keySize: number, valuePtrPtr: number, valueSizePtr: number) => {
      const pairs = headersOf(type);
      const key = str(keyPtr, keySize);
      if (key === undefined) return proxyStatus.invalidMemoryAccess;
      if (pairs === undefined) return proxyStatus.badArgument;
      const found = pairs.find(([k]) => k.toLowerCase() === key.toLowerCase());
      if (found === undefined) return proxyStatus.notFound;
      return give(encoder.encode(found[1]), valuePtrPtr, valueSizePtr);
    },
    proxy_get_header_map_pairs: (type: number, ptrPtr: number, sizePtr: number) => {
      const pairs = headersOf(type);
      if (pairs === undefined) return proxyStatus.badArgument;
      return give(serializePairs(pairs), ptrPtr, sizePtr);
    },
    proxy_get_header_map_size: (type: number, sizePtr: number) => {
      const pairs = headersOf(type);
      if (pairs === undefined) return proxyStatus.badArgument;
      return mem().writeU32(sizePtr, serializePairs(pairs).length) ? proxyStatus.ok : proxyStatus.invalidMemoryAccess;
    },
    proxy_set_header_map_pairs: (type: number, ptr: number, size: number) => {
      const pairs = headersOf(type);
      const bytes = mem().read(ptr, size);
      if (bytes === undefined) return proxyStatus.invalidMemoryAccess;
      const parsed = parsePairs(bytes);
      if (pairs === undefined || parsed === undefined) return proxyStatus.badArgument;
      pairs.splice(0, pairs.length, ...parsed);
      return proxyStatus.ok;
    },
    proxy_add_header_map_value: (type: number, kp: number, ks: number, vp: number, vs: number) => editHeader(type, kp, ks, vp, vs, "add"),
    proxy_replace_header_map_value: (type: number, kp: number, ks: number, vp: number, vs: number) => editHeader(type, kp, ks, vp, vs, "replace"),
    proxy_remove_header_map_value: (type: number, kp: number, ks: number) => editHeader(type, kp, ks, 0, 0, "remove"),
    proxy_get_current_time_nanoseconds: (ptr: number) =>
      mem().writeU64(ptr, BigInt(Date.now()) * 1_000_000n) ? proxyStatus.ok : proxyStatus.invalidMemoryAccess,
    proxy_set_effective_context: () => proxyStatus.ok,
    proxy_done: () => proxyStatus.ok,
    proxy_get_property: () => proxyStatus.notFound,
    proxy_send_local_response: (status: number, _dp: number, _ds: number, bodyPtr: number, bodySize: number, headersPtr: number, headersSize: number) => {
      const body = mem().read(bodyPtr, bodySize);
      const headers = mem().read(headersPtr, headersSize);
      if (body === undefined || headers === undefined) return proxyStatus.invalidMemoryAccess;
      const c = ctx();
      c.localStatus = status;
      c.responseBody = body;
      c.responseHeaders = headers.length > 0 ? (parsePairs(headers) ?? []) : [];
      return proxyStatus.ok;
    },
    proxy_get_state: (storePtr: number, storeSize: number, keyPtr: number, keySize: number, valuePtrPtr: number, valueSizePtr: number) => {
      const store = mem().read(storePtr, storeSize);
      const key = mem().read(keyPtr, keySize);
      if (store === undefined || key === undefined) return proxyStatus.invalidMemoryAccess;
      return runtimeCall("proxy.get_state", [store, key], valuePtrPtr, valueSizePtr);
    },
    proxy_invoke_service: (
      idPtr: number,
      idSize: number,
      methodPtr: number,
      methodSize: number,
      paramPtr: number,
      paramSize: number,
      resultPtrPtr: number,
      resultSizePtr: number,
    ) => {
      const id = mem().read(idPtr, idSize);
      const method = mem().read(methodPtr, methodSize);
      const param = mem().read(paramPtr, paramSize);
      if (id === undefined || method === undefined || param === undefined) return proxyStatus.invalidMemoryAccess;
      return runtimeCall("proxy.invoke_service", [id, method, param], resultPtrPtr, resultSizePtr);
    },
  };

  function editHeader(type: number, kp: number, ks: number, vp: number, vs: number, how: "add" | "replace" | "remove"): number {
    const pairs = headersOf(type);
    const key = str(kp, ks);
    const value = how === "remove" ? "" : str(vp, vs);
    if (key === undefined || value === undefined) return proxyStatus.invalidMemoryAccess;
    if (pairs === undefined) return proxyStatus.badArgument;
    if (how !== "add") {
      for (let i = pairs.length - 1; i >= 0; i--) if (pairs[i][0].toLowerCase() === key.toLowerCase()) pairs.splice(i, 1);
    }
    if (how !== "remove") pairs.push([key, value]);
    return proxyStatus.ok;
  }

  for (const name of wanted) if (name.startsWith("proxy_")) imports[name] ??= () => proxyStatus.unimplemented;
  return imports;
}

/** proxy-wasm's header map encoding: u32 count, count x (u32 key size, u32 value size), then each key and value NUL-terminated. */
export function serializePairs(pairs: readonly (readonly [string, string])[]): Uint8Array {
  const encoded = pairs.map(([k, v]) => [encoder.encode(k), encoder.encode(v)] as const);
  const size = 4 + encoded.reduce((n, [k, v]) => n + 8 + k.length + 1 + v.length + 1, 0);
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  view.setUint32(0, pairs.length, true);
  let at = 4;
  for (const [k, v] of encoded) {
    view.setUint32(at, k.length, true);
    view.setUint32(at + 4, v.length, true);
    at += 8;
  }
  for (const [k, v] of encoded) {
    out.set(k, at);
    at += k.length + 1;
    out.set(v, at);
    at += v.length + 1;
  }
  return out;
}

export function parsePairs(bytes: Uint8Array): [string, string][] | undefined {
  if (bytes.length < 4) return undefined;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const count = view.getUint32(0, true);
  if (4 + count * 8 > bytes.length) return undefined;
  let at = 4 + count * 8;
  const pairs: [string, string][] = [];
  for (let i = 0; i < count; i++) {
    const ks = view.getUint32(4 + 8 * i, true);
    const vs = view.getUint32(8 + 8 * i, true);
    if (at + ks + 1 + vs + 1 > bytes.length) return undefined;
    const k = decoder.decode(bytes.subarray(at, at + ks));
    at += ks + 1;
    const v = decoder.decode(bytes.subarray(at, at + vs));
    at += vs + 1;
    pairs.push([k, v]);
  }
  return pairs;
}
