import { Code, ConnectError } from "@connectrpc/connect";
import type { AppCallbackClient } from "@ottavo/generated/client/app-callback-client";
import { backoffDelay, sleep, type BackoffPolicy } from "./backoff";

/** Dapr's subscription metadata key for a dead-letter topic (Layotto's TopicSubscription has no field for it). */
export const deadLetterTopicKey = "deadLetterTopic";

/** One topic the app asked for, as the runtime subscribes it. */
export interface AppSubscription {
  readonly pubsubName: string;
  readonly topic: string;
  readonly deadLetterTopic?: string;
  /** As the app sent it, deadLetterTopic included. */
  readonly metadata: Record<string, string>;
}

export interface ListOptions {
  readonly backoff: BackoffPolicy;
  /** How long one ListTopicSubscriptions call may take. */
  readonly callTimeoutMs: number;
  /** Stops the retries (shutdown). */
  readonly signal: AbortSignal;
  /** Told about the first failure of the series, so a missing app is reported once, not every attempt. */
  readonly onFirstFailure: (error: ConnectError) => void;
}

/**
 * Asks the app which topics it wants, retrying with capped exponential backoff
 * until it answers: the app may start after the runtime. An app whose server
 * does not implement ListTopicSubscriptions (UNIMPLEMENTED) wants none, as in
 * Dapr. Resolves with undefined when the signal stops it first.
 */
export async function listAppSubscriptions(
  client: AppCallbackClient,
  options: ListOptions,
): Promise<{ subscriptions: AppSubscription[]; attempts: number } | undefined> {
  for (let attempt = 1; ; attempt++) {
    if (options.signal.aborted) return undefined;
    try {
      const response = await client.listTopicSubscriptions({}, { timeoutMs: options.callTimeoutMs, signal: options.signal });
      return {
        attempts: attempt,
        subscriptions: response.subscriptions.map((s) => {
          const deadLetterTopic = s.metadata[deadLetterTopicKey];
          return {
            pubsubName: s.pubsubName,
            topic: s.topic,
            ...(deadLetterTopic ? { deadLetterTopic } : {}),
            metadata: { ...s.metadata },
          };
        }),
      };
    } catch (error) {
      if (options.signal.aborted) return undefined;
      const failure = ConnectError.from(error);
      if (failure.code === Code.Unimplemented) return { subscriptions: [], attempts: attempt };
      if (attempt === 1) options.onFirstFailure(failure);
      if (!(await sleep(backoffDelay(options.backoff, attempt), options.signal))) return undefined;
    }
  }
}
