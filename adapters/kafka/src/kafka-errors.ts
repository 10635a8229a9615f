import { ComponentError } from "@ottavo/component-runtime";
import { InvalidArgumentError, PermissionDeniedError, UnauthenticatedError, UnavailableError } from "@ottavo/generated/components/errors";

/** Broker answers that say "you may not", whatever the call. */
const refusedTypes = new Set([
  "TOPIC_AUTHORIZATION_FAILED",
  "GROUP_AUTHORIZATION_FAILED",
  "CLUSTER_AUTHORIZATION_FAILED",
  "TRANSACTIONAL_ID_AUTHORIZATION_FAILED",
]);

/** Broker answers about the request itself: sending it again cannot help. */
const invalidTypes = new Set([
  "MESSAGE_TOO_LARGE",
  "RECORD_LIST_TOO_LARGE",
  "INVALID_RECORD",
  "INVALID_TOPIC_EXCEPTION",
  "INVALID_REQUIRED_ACKS",
]);

/** The broker's error type (KafkaJSProtocolError.type) somewhere in the error or its causes and aggregates. */
export function kafkaErrorTypes(error: unknown): string[] {
  const types: string[] = [];
  const seen = new Set<unknown>();
  const visit = (value: unknown) => {
    if (typeof value !== "object" || value === null || seen.has(value)) return;
    seen.add(value);
    const { type, cause, errors } = value as { type?: unknown; cause?: unknown; errors?: unknown };
    if (typeof type === "string") types.push(type);
    visit(cause);
    if (Array.isArray(errors)) errors.forEach(visit);
  };
  visit(error);
  return types;
}

/**
 * The error a call answers with when talking to Kafka failed. ComponentErrors (the
 * capability's typed errors, or the shared ones) pass through unchanged. Otherwise the
 * message names the brokers (never credentials: kafkajs does not put them in its
 * messages) and the status says what the caller can do: PERMISSION_DENIED or
 * UNAUTHENTICATED when the cluster refuses us, INVALID_ARGUMENT when it refuses
 * the request, UNAVAILABLE for everything else (unreachable, timed out, leader
 * moving, rebalancing), which a caller may retry.
 */
export function kafkaFailure(error: unknown, endpoint: string): ComponentError {
  if (error instanceof ComponentError) return error;
  const text = describe(error);
  const types = kafkaErrorTypes(error);
  const cause = isErrorLike(error) ? error : undefined;
  const name = (error as { name?: unknown } | null)?.name;
  if (name === "KafkaJSSASLAuthenticationError" || types.includes("SASL_AUTHENTICATION_FAILED")) {
    return new UnauthenticatedError(`kafka at ${endpoint} refused the credentials: ${text}`, cause);
  }
  if (types.some((type) => refusedTypes.has(type))) {
    return new PermissionDeniedError(`kafka at ${endpoint} refused the request: ${text}`, cause);
  }
  if (types.some((type) => invalidTypes.has(type))) {
    return new InvalidArgumentError(`kafka at ${endpoint} rejected the request: ${text}`, cause);
  }
  return new UnavailableError(`kafka at ${endpoint} is unavailable: ${text}`, cause);
}

/** The error's message, with its causes' when retries wrapped it ("...: Connection error: connect ECONNREFUSED"). */
function describe(error: unknown): string {
  if (!isErrorLike(error)) return String(error);
  const messages = [error.message];
  let cause = error.cause;
  while (isErrorLike(cause) && messages.length < 4) {
    if (!messages.includes(cause.message)) messages.push(cause.message);
    cause = cause.cause;
  }
  if (Array.isArray(error.errors)) {
    for (const inner of error.errors) if (isErrorLike(inner) && !messages.includes(inner.message)) messages.push(inner.message);
  }
  return messages.join(": ");
}

/**
 * Duck-typed: socket errors come from Node's own realm, where instanceof Error
 * can fail (under jest, for one).
 */
function isErrorLike(value: unknown): value is { message: string; cause?: unknown; errors?: unknown } {
  return typeof value === "object" && value !== null && typeof (value as { message?: unknown }).message === "string";
}
