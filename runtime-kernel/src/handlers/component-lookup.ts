import { Code, ConnectError } from "@connectrpc/connect";
import type { CapabilityKind } from "@ottavo/generated/components/registry";
import type { ComponentEntry, ComponentTable } from "../registry/component-table";

/** The errors a capability answers when a request names no usable component. */
export interface LookupTexts {
  /**
   * No component of the capability is configured at all: FAILED_PRECONDITION.
   * Absent where Layotto answers an unknown name alike either way (file).
   */
  readonly notConfigured?: string;
  /** The name matches no component: INVALID_ARGUMENT. */
  notFound(name: string): string;
}

/**
 * Layotto's texts where Layotto has one (pkg/messages, pkg/grpc/default_api), Dapr's
 * where Layotto answers with a bare Go error; the codes are Layotto's and Dapr's
 * (FAILED_PRECONDITION when nothing is configured, INVALID_ARGUMENT for an unknown name).
 */
export const lookupTexts = {
  state: {
    notConfigured: "state store is not configured",
    notFound: (name) => `state store ${name} is not found`,
  },
  lock: {
    notConfigured: "lock store is not configured",
    notFound: (name) => `lock store ${name} not found`,
  },
  sequencer: {
    notConfigured: "Sequencer store is not configured",
    notFound: (name) => `Sequencer store ${name} not found`,
  },
  configuration: {
    notConfigured: "configuration stores not configured",
    notFound: (name) => `configure store [${name}] don't support now`,
  },
  pubsub: {
    notConfigured: "no pubsub is configured",
    notFound: (name) => `pubsub ${name} not found`,
  },
  file: {
    // Layotto spells it so in PutFile, ListFile, DelFile and GetFileMeta; GetFile says getFileNotFound's text.
    notFound: (name) => `not support store type: ${name}`,
  },
  binding: {
    notConfigured: "output binding is not configured",
    notFound: (name) => `error when invoke output binding ${name}: couldn't find output binding ${name}`,
  },
  secret: {
    notConfigured: "error when get secret but not find configured",
    notFound: (name) => `error when get secret but not find : ${name}`,
  },
  hello: {
    notConfigured: "no instance found: no hello component is configured",
    notFound: (name) => `no instance found: hello service '${name}' is not configured`,
  },
  // No rpc names a resolver: the kernel consults every one for InvokeService.
  nameresolution: {
    notConfigured: "no nameresolution component is configured",
    notFound: (name) => `nameresolution component ${name} is not configured`,
  },
} as const satisfies Record<CapabilityKind, LookupTexts>;

/**
 * The named component, or undefined when the name is unknown; throws FAILED_PRECONDITION
 * when the capability has no component at all. Split from requireComponent so that a
 * handler can validate its fields in between, in Layotto's order.
 */
export function findComponent<K extends CapabilityKind>(
  table: ComponentTable,
  capability: K,
  name: string,
): ComponentEntry<K> | undefined {
  const entry = table.get(capability, name);
  const texts: LookupTexts = lookupTexts[capability];
  const notConfigured = texts.notConfigured;
  // list() allocates, so it only runs on the miss path.
  if (entry === undefined && notConfigured !== undefined && table.list(capability).length === 0) {
    throw new ConnectError(notConfigured, Code.FailedPrecondition);
  }
  return entry;
}

/** The entry findComponent found, or INVALID_ARGUMENT naming the unknown component. */
export function requireComponent<K extends CapabilityKind>(
  entry: ComponentEntry<K> | undefined,
  capability: K,
  name: string,
): ComponentEntry<K> {
  if (entry === undefined) throw new ConnectError(lookupTexts[capability].notFound(name), Code.InvalidArgument);
  return entry;
}

/** findComponent and requireComponent in one step, for handlers with nothing to check in between. */
export function lookupComponent<K extends CapabilityKind>(
  table: ComponentTable,
  capability: K,
  name: string,
): ComponentEntry<K> {
  return requireComponent(findComponent(table, capability, name), capability, name);
}
