import type { Admin, Consumer, EachMessagePayload, Kafka, KafkaMessage } from "kafkajs";
import type { DeliveryResult, MessageHandler } from "@ottavo/generated/components/pubsub";
import { kafkaFailure } from "./kafka-errors";
import { toTopicMessage } from "./kafka-messages";
import type { KafkaSettings } from "./kafka-settings";
import { topicAssigner } from "./topic-assigner";

export interface SubscriptionInput {
  readonly kafka: Kafka;
  /** The component's admin client, for the group's committed offsets and the topic's end offsets. */
  readonly admin: Admin;
  readonly settings: KafkaSettings;
  readonly groupId: string;
  readonly topic: string;
  readonly deadLetterTopic?: string;
  readonly handler: MessageHandler;
  /** Publishes a message to the dead-letter topic (creating it first); rejects when it could not. */
  readonly deadLetter: (topic: string, message: KafkaMessage) => Promise<void>;
}

/** The message at the head of a partition: the only one that can have been delivered and not settled. */
interface PartitionHead {
  readonly offset: string;
  deliveries: number;
}

/** How long close() waits for kafkajs to stop the consumer and leave the group. */
const closeTimeoutMs = 5_000;
/** How long the broker may hold a fetch when there is nothing new: also the most a resumed partition waits. */
const maxFetchWaitMs = 250;
/** The longest the group waits for members to rejoin during a rebalance. */
const rebalanceTimeoutMs = 30_000;

/**
 * One subscription: a kafkajs consumer of one topic in the subscription's group.
 *
 * Delivery is one message at a time per partition, in offset order. Nothing is
 * committed on the consumer's own (autoCommit off): a message's offset is
 * committed once its handler answered SUCCESS or DROP, or once it is on the
 * dead-letter topic, so after a crash or restart the group resumes at the first
 * message not settled (at least once). Any other outcome seeks the partition
 * back to the message and pauses it for the Redelivery backoff; the messages
 * behind it wait, and other partitions go on. While a handler runs, the consumer
 * keeps heartbeating, so a slow app does not cost the group its member.
 */
export class KafkaSubscription {
  private readonly consumer: Consumer;
  private readonly heads = new Map<number, PartitionHead>();
  private readonly resumeTimers = new Set<NodeJS.Timeout>();
  private closed = false;
  private closing: Promise<void> | undefined;

  private constructor(private readonly input: SubscriptionInput) {
    const { settings } = input;
    this.consumer = input.kafka.consumer({
      groupId: input.groupId,
      partitionAssigners: [topicAssigner],
      sessionTimeout: settings.sessionTimeoutMs,
      heartbeatInterval: settings.heartbeatIntervalMs,
      rebalanceTimeout: Math.max(rebalanceTimeoutMs, settings.sessionTimeoutMs),
      maxWaitTimeInMs: maxFetchWaitMs,
      // The component creates topics itself, once, with a clear error when it may not.
      allowAutoTopicCreation: false,
      // A consumer that fails for good (after kafkajs's retries) starts over rather than stop delivering.
      retry: { restartOnFailure: async () => !this.closed },
    });
  }

  /**
   * Joins the group and resolves once the consumer has its partitions (and, with
   * initialOffset "newest", their start is committed), so a message published
   * after this resolves is delivered. Rejects with UNAVAILABLE when the group
   * cannot be joined; nothing is left running then.
   */
  static async start(input: SubscriptionInput): Promise<KafkaSubscription> {
    for (let attempt = 1; ; attempt++) {
      const subscription = new KafkaSubscription(input);
      try {
        await subscription.run();
        return subscription;
      } catch (error) {
        await subscription.close();
        // A broker that has just started answers "The coordinator is loading" for a while; kafkajs marks such errors retriable.
        if (!isRetriable(error) || attempt >= startAttempts) throw kafkaFailure(error, input.settings.endpoint);
        await new Promise((resolve) => setTimeout(resolve, attempt * startBackoffMs));
      }
    }
  }

  /** Stops delivery and leaves the group; bounded, since kafkajs waits for a handler still running. */
  close(): Promise<void> {
    this.closing ??= this.stop();
    return this.closing;
  }

  private async stop(): Promise<void> {
    this.closed = true;
    for (const timer of this.resumeTimers) clearTimeout(timer);
    this.resumeTimers.clear();
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      this.consumer.disconnect().catch(() => undefined),
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, closeTimeoutMs);
        timer.unref();
      }),
    ]);
    clearTimeout(timer);
  }

  private async run(): Promise<void> {
    const { topic, settings } = this.input;
    const { GROUP_JOIN, CRASH } = this.consumer.events;
    let joined: Record<string, number[]> | undefined;
    let crashed: unknown;
    let started = false;
    this.consumer.on(GROUP_JOIN, (event) => {
      joined = event.payload.memberAssignment;
      // Each later join (a rebalance) may bring partitions the group never committed.
      if (started && !this.closed) void this.pinStart(joined[topic] ?? []).catch(() => undefined);
    });
    this.consumer.on(CRASH, (event) => {
      crashed ??= event.payload.error;
    });

    await this.consumer.connect();
    await this.consumer.subscribe({ topics: [topic], fromBeginning: settings.initialOffset === "oldest" });
    // Resolves after the consumer joined the group, or after it crashed trying.
    await this.consumer.run({
      autoCommit: false,
      // Partitions of one topic are handled side by side; each one's messages stay in order.
      partitionsConsumedConcurrently: 8,
      eachMessage: (payload) => this.onMessage(payload),
    });
    started = true;
    if (joined === undefined) throw crashed ?? new Error(`the consumer did not join group '${this.input.groupId}'`);
    // A failed pin only narrows what survives a restart; the subscription works.
    await this.pinStart(joined[topic] ?? []).catch(() => undefined);
  }

  /**
   * With initialOffset "newest", commits the current end of each assigned
   * partition the group never committed an offset for. kafkajs starts such a
   * partition at its end without committing it; a message published next and
   * not yet acknowledged when the runtime stops would then be skipped at the
   * next start, which would begin at the (later) end again.
   */
  private async pinStart(partitions: readonly number[]): Promise<void> {
    const { admin, groupId, topic, settings } = this.input;
    if (settings.initialOffset !== "newest" || partitions.length === 0) return;
    const [committed] = await admin.fetchOffsets({ groupId, topics: [topic] });
    const fresh = new Set(
      (committed?.partitions ?? []).filter((p) => p.offset === "-1" && partitions.includes(p.partition)).map((p) => p.partition),
    );
    if (fresh.size === 0 || this.closed) return;
    const ends = await admin.fetchTopicOffsets(topic);
    await this.consumer.commitOffsets(
      ends.filter((end) => fresh.has(end.partition)).map((end) => ({ topic, partition: end.partition, offset: end.high })),
    );
  }

  private async onMessage(payload: EachMessagePayload): Promise<void> {
    // Stopping: leave the message uncommitted for the group's next member.
    if (this.closed) return;
    const { partition, message } = payload;
    const { deadLetterTopic, settings } = this.input;
    const { maxDeliveries } = settings.redelivery;
    const head = this.headOf(partition, message.offset);
    const deadLetterDue = () => deadLetterTopic !== undefined && maxDeliveries > 0 && head.deliveries >= maxDeliveries;

    // A message whose move to the dead-letter topic failed is not delivered again, only moved again.
    if (!deadLetterDue()) {
      head.deliveries++;
      const result = await this.deliver(payload, head.deliveries);
      if (result === "SUCCESS" || result === "DROP") return this.settle(payload);
      if (this.closed) return;
    }
    if (deadLetterTopic !== undefined && deadLetterDue()) {
      try {
        await this.input.deadLetter(deadLetterTopic, message);
      } catch {
        // Kafka refused or is away: the message stays at the head and is moved again after the backoff.
        return this.redeliverLater(payload, head.deliveries);
      }
      return this.settle(payload);
    }
    this.redeliverLater(payload, head.deliveries);
  }

  /** The head of the partition, reset when the partition moved on (or came back after a rebalance). */
  private headOf(partition: number, offset: string): PartitionHead {
    let head = this.heads.get(partition);
    if (head === undefined || head.offset !== offset) {
      head = { offset, deliveries: 0 };
      this.heads.set(partition, head);
    }
    return head;
  }

  /** Calls the handler, heartbeating meanwhile; a throw or an unknown answer counts as RETRY. */
  private async deliver(payload: EachMessagePayload, deliveryCount: number): Promise<DeliveryResult> {
    const { topic, partition, message, heartbeat } = payload;
    const beat = setInterval(() => {
      // A rebalance shows up here as an error; kafkajs rejoins once this message is done.
      heartbeat().catch(() => undefined);
    }, this.input.settings.heartbeatIntervalMs);
    beat.unref();
    try {
      const result = await this.input.handler(toTopicMessage(topic, partition, message, deliveryCount));
      return result === "SUCCESS" || result === "DROP" ? result : "RETRY";
    } catch {
      return "RETRY";
    } finally {
      clearInterval(beat);
    }
  }

  /**
   * Commits the offset after the message. A commit that fails (the group is
   * rebalancing, the coordinator moved) is thrown to kafkajs, which rejoins and
   * starts the partition again at the last committed offset: this message may be
   * delivered once more, never skipped.
   */
  private async settle(payload: EachMessagePayload): Promise<void> {
    const { topic, partition, message } = payload;
    this.heads.delete(partition);
    await this.consumer.commitOffsets([{ topic, partition, offset: (BigInt(message.offset) + 1n).toString() }]);
  }

  /**
   * Seeks the partition back to the message and pauses it; it resumes after the
   * backoff (the Redelivery group's: doubling from redeliveryBackoff up to
   * maxRedeliveryBackoff), and the same message comes first.
   */
  private redeliverLater(payload: EachMessagePayload, deliveries: number): void {
    const { topic, partition, message, pause } = payload;
    const { initialMs, maxMs } = this.input.settings.redelivery;
    this.consumer.seek({ topic, partition, offset: message.offset });
    const resume = pause();
    const delayMs = Math.min(maxMs, initialMs * 2 ** Math.min(Math.max(deliveries - 1, 0), 30));
    const timer = setTimeout(() => {
      this.resumeTimers.delete(timer);
      if (this.closed) return;
      try {
        resume();
      } catch {
        // The consumer is restarting: its new run starts unpaused anyway.
      }
    }, delayMs);
    timer.unref();
    this.resumeTimers.add(timer);
  }
}

/** How often joining the group is tried when the broker answers with a retriable error, and the backoff step. */
const startAttempts = 6;
const startBackoffMs = 250;

/** Whether kafkajs calls the error (or one it wraps) retriable. */
function isRetriable(error: unknown): boolean {
  for (let e: unknown = error; typeof e === "object" && e !== null; e = (e as { originalError?: unknown; cause?: unknown }).originalError ?? (e as { cause?: unknown }).cause) {
    if ((e as { retriable?: unknown }).retriable === true) return true;
  }
  return false;
}
