import "./webassembly-api";

// The messages between a function instance's worker thread and the main thread.

/** Which ABI a module speaks, decided from its exports. */
export type GuestAbi = "ottavo" | "proxy-wasm";

/** What the worker is started with (workerData). */
export interface WorkerSetup {
  readonly module: WebAssembly.Module;
  readonly functionName: string;
  readonly bridge: SharedArrayBuffer;
  /** The ottavo host imports, by name (the generated table's). */
  readonly ottavoImports: readonly string[];
  /** The ABI version this host speaks. */
  readonly abiVersion: number;
  /** Configuration handed to a proxy-wasm guest's proxy_on_vm_start / proxy_on_configure. */
  readonly vmConfig: Uint8Array;
  readonly pluginConfig: Uint8Array;
}

/** One invocation, as the worker receives it. */
export type InvocationInput =
  /** ottavo ABI: a CommonInvokeRequest, protobuf bytes. */
  | { readonly abi: "ottavo"; readonly request: Uint8Array }
  /** proxy-wasm: an HTTP request. */
  | { readonly abi: "proxy-wasm"; readonly headers: readonly (readonly [string, string])[]; readonly body: Uint8Array };

export interface InvocationOutput {
  /** A gRPC code (ottavo ABI) or 0 / 13 (proxy-wasm). */
  readonly status: number;
  /** The InvokeResponse bytes (ottavo, status 0), the error text, or the HTTP body (proxy-wasm). */
  readonly body: Uint8Array;
  /** proxy-wasm: the response headers the function set, and its local response status if it sent one. */
  readonly headers?: readonly (readonly [string, string])[];
  readonly httpStatus?: number;
}

export type ToWorker =
  | { readonly t: "invoke"; readonly seq: number; readonly input: InvocationInput }
  /** To a spare worker, started before it had a function: what workerData gives the others. */
  | { readonly t: "setup"; readonly setup: WorkerSetup };

export type FromWorker =
  /** A spare worker (started without a setup) has loaded the instance script. */
  | { readonly t: "spare" }
  | { readonly t: "ready"; readonly abi: GuestAbi; readonly functionId: string }
  | { readonly t: "failed"; readonly error: string }
  | { readonly t: "log"; readonly level: number; readonly line: string }
  /** broken: the guest trapped or exited, so the instance must not be used again. */
  | { readonly t: "done"; readonly seq: number; readonly output: InvocationOutput; readonly broken: boolean };
