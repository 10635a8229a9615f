import { randomUUID } from "node:crypto";
import { ResourceExhaustedError, UnavailableError } from "@ottavo/generated/components/errors";
import type { Subscription } from "@ottavo/component-runtime";
import {
  TopicNotFoundError,
  type MessageHandler,
  type PublishRequest,
  type SubscribeRequest,
  type TopicMessage,
} from "@ottavo/generated/components/pubsub";
import {
  defineInMemoryPubsubAdapter,
  inMemoryPubsubFeatures,
  type InMemoryPubsub as InMemoryPubsubContract,
  type InMemoryPubsubMetadata,
} from "@ottavo/generated/components/adapters/in-memory";

/**
 * The "in-memory" pub/sub: topics in this process, delivered at least once.
 *
 * Who receives what:
 * - Every consumer group of a topic receives every message published after the
 *   group first subscribed. A group lives until the component closes: when its
 *   last subscriber leaves, its messages wait for the next one (a reconnecting
 *   stream loses nothing).
 * - Messages published to a topic no group has subscribed to yet are held and go
 *   to the first group that subscribes (the runtime's app, in practice), so a
 *   publish that races the app's subscription is not lost.
 * - Within a group, messages go one at a time, in publish order (ORDERED), each to
 *   one subscriber, round robin. SUCCESS or DROP settles a message; RETRY, any
 *   other answer or a thrown error redelivers the same message (same id,
 *   deliveryCount + 1) after a backoff (the Redelivery metadata: redeliveryBackoff
 *   after the first delivery, doubling per delivery up to maxRedeliveryBackoff),
 *   and the messages behind it wait.
 * - DEAD_LETTER: a message delivered maxDeliveries times (when > 0) without being
 *   settled, by a subscriber whose subscription names a deadLetterTopic, is
 *   published to that topic of this component and then settled. Without a
 *   deadLetterTopic it keeps being redelivered, at the capped backoff.
 * Unacknowledged messages are lost when the component closes. A group's backlog
 * is capped (publish then fails with RESOURCE_EXHAUSTED) so an absent subscriber
 * cannot exhaust memory. With the `topics` metadata set, only those topics exist;
 * any other is TopicNotFound (NOT_FOUND), as with a broker that does not create topics.
 */
export class InMemoryPubsub implements InMemoryPubsubContract {
  readonly features = new Set(inMemoryPubsubFeatures);

  private readonly topics = new Map<string, Topic>();
  private readonly options: Required<InMemoryPubsubOptions>;
  private closed = false;

  constructor(options: InMemoryPubsubOptions = {}) {
    this.options = { ...defaultOptions, ...options };
  }

  async publish(request: PublishRequest): Promise<void> {
    this.checkOpen();
    this.checkTopic(request.topic);
    this.accept(request);
  }

  async subscribe(request: SubscribeRequest, handler: MessageHandler): Promise<Subscription> {
    this.checkOpen();
    this.checkTopic(request.topic);
    if (request.deadLetterTopic) this.checkTopic(request.deadLetterTopic);
    const topic = this.topicOf(request.topic);
    let group = topic.groups.get(request.consumerGroup);
    if (group === undefined) {
      group = new ConsumerGroup();
      if (topic.groups.size === 0) group.queue.takeAll(topic.held);
      topic.groups.set(request.consumerGroup, group);
    }
    const member: Member = { handler, deadLetterTopic: request.deadLetterTopic || undefined };
    group.members.push(member);
    this.pump(group);
    const joined = group;
    return {
      close: async () => {
        const at = joined.members.indexOf(member);
        if (at >= 0) joined.members.splice(at, 1);
      },
    };
  }

  async health(): Promise<void> {}

  async close(): Promise<void> {
    this.closed = true;
    for (const topic of this.topics.values()) {
      for (const group of topic.groups.values()) clearTimeout(group.retryTimer);
    }
    this.topics.clear();
  }

  /** Queues a message for every group of its topic (or holds it for the first); throws when a backlog is full. */
  private accept(request: PublishRequest): void {
    const topic = this.topicOf(request.topic);
    const queues = topic.groups.size === 0 ? [topic.held] : [...topic.groups.values()].map((g) => g.queue);
    // All groups accept the message or none does.
    for (const queue of queues) {
      if (queue.length >= this.options.maxPendingPerGroup) {
        throw new ResourceExhaustedError(`topic '${request.topic}' has ${queue.length} unacknowledged messages for one consumer group; ` +
            "publish again once its subscriber catches up");
      }
    }
    const message: StoredMessage = {
      id: randomUUID(),
      topic: request.topic,
      data: new Uint8Array(request.data),
      contentType: request.contentType,
      metadata: { ...request.metadata },
    };
    if (topic.groups.size === 0) {
      topic.held.push({ message, deliveryCount: 0 });
      return;
    }
    for (const group of topic.groups.values()) {
      group.queue.push({ message, deliveryCount: 0 });
      this.pump(group);
    }
  }

  /** Starts the next delivery of the group unless one is in flight or waiting to retry. */
  private pump(group: ConsumerGroup): void {
    if (this.closed || group.busy) return;
    const entry = group.queue.peek();
    if (entry === undefined || group.members.length === 0) return;
    const member = group.members[group.nextMember++ % group.members.length];
    group.busy = true;
    entry.deliveryCount++;
    void this.deliver(group, member, entry);
  }

  private async deliver(group: ConsumerGroup, member: Member, entry: QueuedMessage): Promise<void> {
    let settled: boolean;
    try {
      const result = await member.handler(toTopicMessage(entry));
      settled = result === "SUCCESS" || result === "DROP";
    } catch {
      // A failing handler is a RETRY: the message is not lost.
      settled = false;
    }
    if (this.closed) return;
    if (!settled) settled = this.deadLetter(member, entry);
    if (settled) {
      group.queue.shift();
      group.busy = false;
      // Yield to I/O now and then, so a long backlog with instant handlers cannot starve the process.
      if (++group.sinceYield < 64) this.pump(group);
      else {
        group.sinceYield = 0;
        setImmediate(() => this.pump(group));
      }
      return;
    }
    group.retryTimer = setTimeout(() => {
      group.retryTimer = undefined;
      group.busy = false;
      this.pump(group);
    }, this.backoffMs(entry.deliveryCount));
    group.retryTimer.unref();
  }

  /**
   * Moves a message that used up its deliveries to the subscription's dead-letter
   * topic; true when it did, so the caller settles it. A refused publish (that
   * topic's backlog is full) keeps the message here, to be redelivered and tried again.
   */
  private deadLetter(member: Member, entry: QueuedMessage): boolean {
    const { maxDeliveries } = this.options;
    if (member.deadLetterTopic === undefined || maxDeliveries <= 0 || entry.deliveryCount < maxDeliveries) return false;
    const { message } = entry;
    try {
      this.accept({ topic: member.deadLetterTopic, data: message.data, contentType: message.contentType, metadata: message.metadata });
      return true;
    } catch {
      return false;
    }
  }

  /** The wait before redelivering a message delivered deliveryCount times. */
  private backoffMs(deliveryCount: number): number {
    const { redeliveryBackoffMs, maxRedeliveryBackoffMs } = this.options;
    // 2^30 is far past any cap; the exponent limit only keeps the number finite.
    return Math.min(redeliveryBackoffMs * 2 ** Math.min(deliveryCount - 1, 30), maxRedeliveryBackoffMs);
  }

  private topicOf(name: string): Topic {
    let topic = this.topics.get(name);
    if (topic === undefined) {
      topic = { groups: new Map(), held: new MessageQueue() };
      this.topics.set(name, topic);
    }
    return topic;
  }

  private checkTopic(name: string): void {
    const { topics } = this.options;
    if (topics.length > 0 && !topics.includes(name)) {
      throw new TopicNotFoundError(`in-memory pubsub: topic '${name}' does not exist; this component has only the topics ${topics.map((t) => `'${t}'`).join(", ")} (metadata topics)`);
    }
  }

  private checkOpen(): void {
    if (this.closed) throw new UnavailableError("the in-memory pubsub is closed");
  }
}

export interface InMemoryPubsubOptions {
  /** The wait before the first redelivery of a message; each further one doubles it (metadata redeliveryBackoff). */
  redeliveryBackoffMs?: number;
  /** The longest wait between two deliveries of a message (metadata maxRedeliveryBackoff). */
  maxRedeliveryBackoffMs?: number;
  /** Deliveries before a message goes to its subscription's dead-letter topic; 0 means no limit (metadata maxDeliveries). */
  maxDeliveries?: number;
  /** Unacknowledged messages one group (or a topic with no group yet) may hold. */
  maxPendingPerGroup?: number;
  /** The only topics that exist; empty: every topic, made on first use (metadata topics). */
  topics?: readonly string[];
}

/** The Redelivery metadata defaults of spec/components/adapters/redelivery.cap, for direct construction. */
const defaultOptions: Required<InMemoryPubsubOptions> = {
  redeliveryBackoffMs: 100,
  maxRedeliveryBackoffMs: 10_000,
  maxDeliveries: 10,
  maxPendingPerGroup: 100_000,
  topics: [],
};

/** The "in-memory" pubsub adapter, as the registry holds it. */
export const inMemoryPubsubAdapter = defineInMemoryPubsubAdapter(async (metadata) => new InMemoryPubsub(optionsOf(metadata)));

/** The validated metadata as constructor options; a negative maxDeliveries is refused. */
function optionsOf(metadata: InMemoryPubsubMetadata): InMemoryPubsubOptions {
  return {
    redeliveryBackoffMs: metadata.redeliveryBackoff,
    maxRedeliveryBackoffMs: metadata.maxRedeliveryBackoff,
    maxDeliveries: metadata.maxDeliveries,
    topics: metadata.topics.split(",").map((topic) => topic.trim()).filter((topic) => topic !== ""),
  };
}

interface StoredMessage {
  readonly id: string;
  readonly topic: string;
  readonly data: Uint8Array;
  readonly contentType: string;
  readonly metadata: Readonly<Record<string, string>>;
}

/** A message as one group holds it: deliveries are counted per group. */
interface QueuedMessage {
  readonly message: StoredMessage;
  deliveryCount: number;
}

interface Member {
  readonly handler: MessageHandler;
  /** Where this subscriber's messages go once they used up maxDeliveries. */
  readonly deadLetterTopic: string | undefined;
}

interface Topic {
  readonly groups: Map<string, ConsumerGroup>;
  /** Messages published before any group subscribed; handed to the first group. */
  readonly held: MessageQueue;
}

class ConsumerGroup {
  readonly queue = new MessageQueue();
  readonly members: Member[] = [];
  nextMember = 0;
  /** A delivery is in flight or waiting for its retry timer. */
  busy = false;
  retryTimer: NodeJS.Timeout | undefined;
  sinceYield = 0;
}

/** A FIFO with O(1) shift: a head index, compacted once half the array is spent. */
class MessageQueue {
  private items: QueuedMessage[] = [];
  private head = 0;

  get length(): number {
    return this.items.length - this.head;
  }

  push(item: QueuedMessage): void {
    this.items.push(item);
  }

  peek(): QueuedMessage | undefined {
    return this.items[this.head];
  }

  shift(): QueuedMessage | undefined {
    if (this.head >= this.items.length) return undefined;
    const item = this.items[this.head++];
    if (this.head * 2 >= this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return item;
  }

  /** Moves every item of other to the end of this queue. */
  takeAll(other: MessageQueue): void {
    for (let item = other.shift(); item !== undefined; item = other.shift()) this.push(item);
  }
}

/** A fresh copy per delivery, so a handler that mutates it cannot change a redelivery. */
function toTopicMessage(entry: QueuedMessage): TopicMessage {
  const { message } = entry;
  return {
    id: message.id,
    topic: message.topic,
    data: message.data.slice(),
    contentType: message.contentType,
    deliveryCount: entry.deliveryCount,
    metadata: { ...message.metadata },
  };
}
