import { FailedPreconditionError, InvalidArgumentError } from "@ottavo/generated/components/errors";
import type { Admin, Kafka, KafkaMessage, Message, Producer } from "kafkajs";
import { kafkajs } from "./kafkajs-module";
import type { CallContext, Subscription } from "@ottavo/component-runtime";
import { abortable, throwIfAborted } from "@ottavo/adapter-kit";
import { TopicNotFoundError, type MessageHandler, type PublishRequest, type SubscribeRequest } from "@ottavo/generated/components/pubsub";
import {
  defineKafkaPubsubAdapter,
  kafkaPubsubFeatures,
  type KafkaPubsub as KafkaPubsubContract,
} from "@ottavo/generated/components/adapters/kafka";
import { kafkaErrorTypes, kafkaFailure } from "./kafka-errors";
import { copyForDeadLetter, toKafkaMessage } from "./kafka-messages";
import { readSettings, type KafkaSettings } from "./kafka-settings";
import { KafkaSubscription } from "./kafka-subscription";

/** How long health() waits for the cluster to answer. */
const healthTimeoutMs = 2_000;
/** How long close() waits for each client to disconnect. */
const disconnectTimeoutMs = 2_000;
/** Every message is on all in-sync replicas before publish resolves. */
const acksAll = -1;
/** CreateTopics answers that mean "not by you, not like this": the topic may still exist. */
const creationRefusals = new Set([
  "POLICY_VIOLATION",
  "INVALID_REPLICATION_FACTOR",
  "INVALID_PARTITIONS",
  "INVALID_CONFIG",
  "INVALID_REQUEST",
  "UNSUPPORTED_VERSION",
]);

/**
 * The "kafka" pub/sub: one producer and one admin client per component, and one
 * consumer per subscription (see KafkaSubscription for delivery). The semantics
 * users see are documented on the adapter in spec/components/adapters/kafka.cap.
 */
export class KafkaPubsub implements KafkaPubsubContract {
  readonly features = new Set(kafkaPubsubFeatures);

  /** Topics known to exist (or being created), so each is checked once. */
  private readonly topics = new Map<string, Promise<void>>();
  private readonly subscriptions = new Set<KafkaSubscription>();
  private closed = false;

  private constructor(
    private readonly kafka: Kafka,
    private readonly producer: Producer,
    private readonly admin: Admin,
    private readonly settings: KafkaSettings,
  ) {}

  /**
   * Connects the producer and the admin client; a cluster that cannot be reached
   * fails the start with UNAVAILABLE naming the brokers, and nothing is left
   * reconnecting.
   */
  static async open(settings: KafkaSettings): Promise<KafkaPubsub> {
    const { Kafka, logLevel, Partitioners } = kafkajs();
    const kafka = new Kafka({
      ...settings.client,
      connectionTimeout: 3_000,
      requestTimeout: 10_000,
      // A call fails within seconds while the cluster is away, instead of retrying for half a minute.
      retry: { initialRetryTime: 100, maxRetryTime: 2_000, retries: 5 },
      // Failures reach callers, health() and the runtime's log; KAFKAJS_LOG_LEVEL shows kafkajs's own.
      logLevel: logLevel.NOTHING,
    });
    const producer = kafka.producer({
      // Java's partitioner (murmur2 of the key): a key lands where Java clients put it.
      createPartitioner: Partitioners.DefaultPartitioner,
      allowAutoTopicCreation: false,
    });
    const admin = kafka.admin();
    try {
      await Promise.all([producer.connect(), admin.connect()]);
    } catch (error) {
      await Promise.all([disconnect(producer), disconnect(admin)]);
      throw kafkaFailure(error, settings.endpoint);
    }
    return new KafkaPubsub(kafka, producer, admin, settings);
  }

  async publish(request: PublishRequest, context?: CallContext): Promise<void> {
    await this.send(request.topic, [toKafkaMessage(request)], context);
  }

  /** One request per broker for all the messages; not atomic: some may be stored when it fails. */
  async bulkPublish(requests: PublishRequest[], context?: CallContext): Promise<void> {
    this.checkOpen();
    if (requests.length === 0) return;
    const byTopic = new Map<string, Message[]>();
    for (const request of requests) {
      const messages = byTopic.get(request.topic) ?? [];
      messages.push(toKafkaMessage(request));
      byTopic.set(request.topic, messages);
    }
    const topics = [...byTopic.keys()];
    await abortable(Promise.all(topics.map((topic) => this.ensureTopic(topic))), context);
    const topicMessages = [...byTopic].map(([topic, messages]) => ({ topic, messages }));
    await this.call(() => this.producer.sendBatch({ acks: acksAll, topicMessages }), topics, context);
  }

  async subscribe(request: SubscribeRequest, handler: MessageHandler): Promise<Subscription> {
    this.checkOpen();
    const groupId = this.settings.consumerGroup ?? request.consumerGroup;
    if (groupId === "") {
      throw new InvalidArgumentError("kafka subscriptions need a consumer group (the runtime's app id, or metadata consumerGroup)");
    }
    await this.ensureTopic(request.topic);
    const subscription = await KafkaSubscription.start({
      kafka: this.kafka,
      admin: this.admin,
      settings: this.settings,
      groupId,
      topic: request.topic,
      ...(request.deadLetterTopic ? { deadLetterTopic: request.deadLetterTopic } : {}),
      handler,
      deadLetter: (topic, message) => this.deadLetter(topic, message),
    });
    if (this.closed) {
      await subscription.close();
      this.checkOpen();
    }
    this.subscriptions.add(subscription);
    return {
      close: async () => {
        this.subscriptions.delete(subscription);
        await subscription.close();
      },
    };
  }

  /** Resolves when the cluster answers a metadata request within a short time; rejects with UNAVAILABLE otherwise. */
  async health(): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${healthTimeoutMs} ms`)), healthTimeoutMs);
    });
    try {
      await this.call(() => Promise.race([this.admin.describeCluster(), timeout]));
    } finally {
      clearTimeout(timer);
    }
  }

  /** Closes every subscription (each leaves its group), then the producer and the admin client, each bounded. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const subscriptions = [...this.subscriptions];
    this.subscriptions.clear();
    await Promise.all(subscriptions.map((s) => s.close()));
    await Promise.all([disconnect(this.producer), disconnect(this.admin)]);
  }

  private async send(topic: string, messages: Message[], context?: CallContext): Promise<void> {
    this.checkOpen();
    await abortable(this.ensureTopic(topic), context);
    await this.call(() => this.producer.send({ topic, acks: acksAll, messages }), [topic], context);
  }

  /** Publishes a message that ran out of deliveries, as it was, to the subscription's dead-letter topic. */
  private async deadLetter(topic: string, message: KafkaMessage): Promise<void> {
    await this.send(topic, [copyForDeadLetter(message)]);
  }

  /**
   * Makes sure the topic exists, once per topic: creates it with the broker's
   * default partitions and replication, whether or not the brokers would create
   * it on first use (auto.create.topics.enable). When the cluster refuses (no
   * permission, a policy) and the topic is not there, TopicNotFound (NOT_FOUND).
   */
  private ensureTopic(topic: string): Promise<void> {
    let known = this.topics.get(topic);
    if (known === undefined) {
      known = this.createIfMissing(topic);
      this.topics.set(topic, known);
      // A failure is not remembered: the next call asks again.
      known.catch(() => this.topics.delete(topic));
    }
    return known;
  }

  private async createIfMissing(topic: string): Promise<void> {
    try {
      // False when the topic exists already.
      await this.admin.createTopics({ topics: [{ topic }], waitForLeaders: true });
      return;
    } catch (error) {
      const failure = kafkaFailure(error, this.settings.endpoint);
      const types = kafkaErrorTypes(error);
      if (types.includes("INVALID_TOPIC_EXCEPTION")) {
        throw new InvalidArgumentError(`'${topic}' is not a valid Kafka topic name: ${failure.message}`);
      }
      // Unreachable, timed out, no controller yet: may pass, so not NOT_FOUND.
      const refused = failure.status === "PERMISSION_DENIED" || types.some((type) => creationRefusals.has(type));
      if (!refused) throw failure;
      if (await this.exists(topic)) return;
      throw new TopicNotFoundError(`topic '${topic}' does not exist and could not be created: ${failure.message}`, failure);
    }
  }

  private async exists(topic: string): Promise<boolean> {
    const topics = await this.call(() => this.admin.listTopics());
    return topics.includes(topic);
  }

  /**
   * Runs one call against Kafka, mapping client errors to ComponentErrors. A topic
   * deleted behind our back is forgotten, so the next call creates it again.
   */
  private async call<T>(run: () => Promise<T>, topics: readonly string[] = [], context?: CallContext): Promise<T> {
    try {
      throwIfAborted(context);
      return await abortable(run(), context);
    } catch (error) {
      if (kafkaErrorTypes(error).includes("UNKNOWN_TOPIC_OR_PARTITION")) for (const topic of topics) this.topics.delete(topic);
      throw kafkaFailure(error, this.settings.endpoint);
    }
  }

  private checkOpen(): void {
    if (this.closed) throw new FailedPreconditionError(`kafka at ${this.settings.endpoint}: the component is closed`);
  }
}

/** Disconnects a kafkajs client, or gives up waiting after a short while (its sockets close regardless). */
async function disconnect(client: { disconnect(): Promise<void> }): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    client.disconnect().catch(() => undefined),
    new Promise<void>((resolve) => {
      timer = setTimeout(resolve, disconnectTimeoutMs);
      timer.unref();
    }),
  ]);
  clearTimeout(timer);
}

/** The "kafka" pubsub adapter, as the registry holds it. */
export const kafkaPubsubAdapter = defineKafkaPubsubAdapter(async (metadata) => KafkaPubsub.open(readSettings(metadata)));
