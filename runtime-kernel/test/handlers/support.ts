import { ConnectError, createContextValues, createHandlerContext, type Code, type HandlerContext } from "@connectrpc/connect";
import { httpAdapters } from "@ottavo/adapter-http";
import { localAdapters } from "@ottavo/adapter-local";
import { memoryAdapters } from "@ottavo/adapter-memory";
import type { CapabilityAdapterFactory, CapabilityKind } from "@ottavo/generated/components/registry";
import { Runtime } from "@ottavo/generated/spec/proto/runtime/v1/runtime_pb";
import { ComponentTable, type ComponentEntry } from "../../src/registry/component-table";
import { createRuntimeHandlerGroups } from "../../src/handlers";
import { withErrorMapping } from "../../src/errors/mapped-handlers";

const factories: readonly CapabilityAdapterFactory[] = [...memoryAdapters, ...localAdapters, ...httpAdapters];

/** One component a test wants in its table. */
export interface ComponentSpec {
  capability: CapabilityKind;
  type: string;
  name: string;
  metadata?: Record<string, unknown>;
  settings?: Record<string, unknown>;
  /**
   * Declare only these of the adapter's features: the same real component, seen the
   * way a backend without the others is (to reach the handlers' fallback paths).
   */
  onlyFeatures?: readonly string[];
}

/** Real adapters, created as the kernel creates them, in a table; close() closes them all. */
export async function runtimeWith(specs: readonly ComponentSpec[], appId = "app1") {
  const table = new ComponentTable(appId);
  for (const spec of specs) {
    const factory = factories.find((f) => f.capability === spec.capability && f.type === spec.type);
    if (factory === undefined) throw new Error(`no ${spec.capability} adapter of type ${spec.type}`);
    const metadata = spec.metadata ?? {};
    const created = await factory.create(metadata, {
      componentName: spec.name,
      appId,
      configDir: "/tmp",
      settings: spec.settings ?? {},
    });
    const component =
      spec.onlyFeatures === undefined
        ? created
        : (Object.create(created, { features: { value: new Set(spec.onlyFeatures) } }) as typeof created);
    table.add({ capability: spec.capability, name: spec.name, type: spec.type, component, metadata } as ComponentEntry);
  }
  // Called directly, with the error mapping the servers apply (Layotto's words for component failures).
  const groups = ownCallEach(withErrorMapping(createRuntimeHandlerGroups(table)));
  return {
    table,
    groups,
    component<K extends CapabilityKind>(capability: K, name: string) {
      const entry = table.get(capability, name);
      if (entry === undefined) throw new Error(`no ${capability} component ${name}`);
      return entry.component;
    },
    async close() {
      await Promise.all(table.all().map((entry) => entry.component.close()));
    },
  };
}

/**
 * Tests reuse one context for many calls; a server makes one per call, naming its
 * rpc and holding its own context values (where a handler records what it asked a
 * component). Each call here gets that: the test's context, for the rpc called.
 */
export function ownCallEach<G extends object>(groups: G): G {
  const calls: Record<string, Record<string, (request: unknown, context: HandlerContext) => unknown>> = {};
  for (const [name, group] of Object.entries(groups as typeof calls)) {
    calls[name] = {};
    for (const [method, rpc] of Object.entries(group)) {
      const desc = Runtime.method[method as keyof typeof Runtime.method];
      calls[name][method] = (request, context) => rpc(request, { ...context, method: desc ?? context.method, values: createContextValues() });
    }
  }
  return calls as G;
}

/** A handler context as connect-node builds one for the named Runtime method. */
export function contextFor(
  method: keyof typeof Runtime.method,
  options: { signal?: AbortSignal; headers?: Record<string, string> } = {},
): HandlerContext {
  const desc = Runtime.method[method];
  return createHandlerContext({
    service: Runtime,
    method: desc,
    protocolName: "grpc",
    requestMethod: "POST",
    url: `http://127.0.0.1:34904/${Runtime.typeName}/${desc.name}`,
    requestSignal: options.signal,
    requestHeader: options.headers,
  });
}

/** The ConnectError a call rejects with; fails the test when it resolves or throws anything else. */
export async function rejection(call: Promise<unknown> | (() => Promise<unknown>)): Promise<ConnectError> {
  try {
    await (typeof call === "function" ? call() : call);
  } catch (error) {
    if (error instanceof ConnectError) return error;
    throw new Error(`expected a ConnectError, got ${String(error)}`);
  }
  throw new Error("expected the call to fail");
}

/** Asserts the code and the exact message (without Connect's "[code]" prefix). */
export async function expectError(call: Promise<unknown> | (() => Promise<unknown>), code: Code, message: string | RegExp) {
  const error = await rejection(call);
  expect({ code: error.code, message: error.rawMessage }).toEqual({
    code,
    message: typeof message === "string" ? message : expect.stringMatching(message),
  });
  return error;
}

/**
 * A request stream the test feeds by hand: push() sends a message, end() half-closes
 * like a client ending its side.
 */
export function clientStream<T>() {
  const queue: T[] = [];
  let wake: (() => void) | undefined;
  let ended = false;
  const iterable: AsyncIterable<T> = {
    [Symbol.asyncIterator]() {
      return {
        async next(): Promise<IteratorResult<T>> {
          for (;;) {
            if (queue.length > 0) return { value: queue.shift() as T, done: false };
            if (ended) return { value: undefined, done: true };
            await new Promise<void>((resolve) => (wake = resolve));
          }
        },
        async return(): Promise<IteratorResult<T>> {
          ended = true;
          return { value: undefined, done: true };
        },
      };
    },
  };
  const poke = () => {
    const w = wake;
    wake = undefined;
    w?.();
  };
  return {
    iterable,
    push(message: T) {
      queue.push(message);
      poke();
    },
    end() {
      ended = true;
      poke();
    },
  };
}

/** Reads the next message of a response stream, failing after timeoutMs. */
export async function nextOf<T>(iterator: AsyncIterator<T>, timeoutMs = 2_000): Promise<IteratorResult<T>> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no stream message within ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    return await Promise.race([iterator.next(), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

export { eventually } from "@ottavo/test-support";

export const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);
export const text = (data: Uint8Array | undefined): string => new TextDecoder().decode(data);
