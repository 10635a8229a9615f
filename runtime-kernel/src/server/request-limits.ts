import type { DescField, DescMessage, DescService } from "@bufbuild/protobuf";
import { Code, ConnectError, type ServiceImpl } from "@connectrpc/connect";
import type { ServerLimits } from "../config/server-limits";

/**
 * The count limits on one decoded request: items of bulk calls, operations of a
 * transaction, entries of metadata maps. The byte limit bounds what a message
 * may cost to decode; these bound what a handler and a backend are asked to do
 * with it (a 1,000,000-operation transaction took 16 s, a 1,000,000-entry
 * metadata map 10 s of blocked event loop). Exceeding one is RESOURCE_EXHAUSTED,
 * naming the limit and how to raise it. Path-independent: it looks at the
 * message, not at the protocol that carried it.
 */
export function checkRequestLimits(schema: DescMessage, message: unknown, limits: ServerLimits, rpc: string): void {
  const plan = planOf(schema);
  if (plan.length > 0) walk(plan, message as Record<string, unknown>, limits, rpc, 0);
}

/**
 * The service's handlers with the count limits checked on every request message
 * before the handler sees it. Both paths (Connect-ES and the gRPC fast path)
 * call the same implementation, so checking here covers every protocol.
 */
export function withRequestLimits<S extends DescService>(service: S, impl: ServiceImpl<S>, limits: ServerLimits): ServiceImpl<S> {
  const wrapped: Record<string, unknown> = {};
  const handlers = impl as unknown as Record<string, (input: unknown, context: unknown) => unknown>;
  for (const method of service.methods) {
    const handler = handlers[method.localName];
    if (typeof handler !== "function") continue;
    const schema = method.input;
    const rpc = method.name;
    if (planOf(schema).length === 0) {
      wrapped[method.localName] = handler.bind(impl);
    } else if (method.methodKind === "unary" || method.methodKind === "server_streaming") {
      const plan = planOf(schema);
      wrapped[method.localName] = (input: unknown, context: unknown) => {
        walk(plan, input as Record<string, unknown>, limits, rpc, 0);
        return handler.call(impl, input, context);
      };
    } else {
      wrapped[method.localName] = (input: AsyncIterable<unknown>, context: unknown) =>
        handler.call(impl, checkEach(input, schema, limits, rpc), context);
    }
  }
  return wrapped as ServiceImpl<S>;
}

async function* checkEach(messages: AsyncIterable<unknown>, schema: DescMessage, limits: ServerLimits, rpc: string): AsyncIterable<unknown> {
  for await (const message of messages) {
    checkRequestLimits(schema, message, limits, rpc);
    yield message;
  }
}

/** How the limits apply to one field: a map counted as metadata, a list counted as bulk items or operations, a message to look into. */
interface Step {
  readonly field: DescField;
  readonly localName: string;
  /** The oneof the field belongs to: its value is message[oneof] = { case, value }. */
  readonly oneof?: string;
  readonly kind: "map" | "list" | "message";
  readonly limit?: "maxBulkItems" | "maxTransactionOperations";
  /** For lists of messages and messages: the plan of the message type. */
  readonly inner?: Step[];
}

/** The transaction's operations are counted against their own limit; every other list is a bulk call's items. */
const transactionOperation = "spec.proto.runtime.v1.TransactionalStateOperation";

const plans = new WeakMap<DescMessage, Step[]>();

/** Computed once per message type: only the fields that can hold something countable. */
function planOf(schema: DescMessage, visiting?: Set<DescMessage>): Step[] {
  const known = plans.get(schema);
  if (known !== undefined) return known;
  visiting ??= new Set();
  // A recursive type (Struct, Value) is not followed a second time; the byte limit bounds it.
  if (visiting.has(schema)) return [];
  visiting.add(schema);
  const plan: Step[] = [];
  for (const field of schema.fields) {
    if (field.fieldKind === "map") {
      plan.push({ field, localName: field.localName, kind: "map" });
    } else if (field.fieldKind === "list") {
      const inner = field.listKind === "message" ? planOf(field.message, visiting) : undefined;
      const limit = field.listKind === "message" && field.message.typeName === transactionOperation ? "maxTransactionOperations" : "maxBulkItems";
      plan.push({ field, localName: field.localName, kind: "list", limit, inner: inner?.length ? inner : undefined });
    } else if (field.fieldKind === "message") {
      const inner = planOf(field.message, visiting);
      if (inner.length > 0) plan.push({ field, localName: field.localName, oneof: field.oneof?.localName, kind: "message", inner });
    }
  }
  visiting.delete(schema);
  plans.set(schema, plan);
  return plan;
}

/** Checks the message against the plan; returns the metadata entries counted so far (they add up across the whole request). */
function walk(plan: readonly Step[], message: Record<string, unknown>, limits: ServerLimits, rpc: string, entries: number): number {
  for (const step of plan) {
    const value = step.oneof === undefined ? message[step.localName] : oneofValue(message[step.oneof], step.localName);
    if (value === undefined || value === null) continue;
    if (step.kind === "map") {
      for (const _key in value as object) {
        if (++entries > limits.maxMetadataEntries) {
          throw tooMany(rpc, `more than ${limits.maxMetadataEntries} metadata entries`, "maxMetadataEntries");
        }
      }
    } else if (step.kind === "list") {
      const list = value as readonly unknown[];
      const limit = limits[step.limit!];
      if (list.length > limit) {
        throw tooMany(rpc, `${list.length} ${step.field.name} (at most ${limit})`, step.limit!);
      }
      if (step.inner !== undefined) for (const item of list) entries = walk(step.inner, item as Record<string, unknown>, limits, rpc, entries);
    } else {
      entries = walk(step.inner!, value as Record<string, unknown>, limits, rpc, entries);
    }
  }
  return entries;
}

function oneofValue(selected: unknown, localName: string): unknown {
  const chosen = selected as { case?: string; value?: unknown } | undefined;
  return chosen?.case === localName ? chosen.value : undefined;
}

function tooMany(rpc: string, what: string, limit: keyof ServerLimits): ConnectError {
  return new ConnectError(
    `${rpc}: the request has ${what}; split it into smaller calls or raise limits.${limit} in the runtime's config`,
    Code.ResourceExhausted,
  );
}
