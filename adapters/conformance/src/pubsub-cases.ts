import { randomBytes } from "node:crypto";
import type { Subscription } from "@ottavo/component-runtime";
import {
  pubSubHas,
  pubsubFeatures,
  type DeliveryResult,
  type PubSub,
  type PubSubWith,
  type PublishRequest,
  type PubsubFeature,
  type SubscribeRequest,
  type TopicMessage,
} from "@ottavo/generated/components/pubsub";
import { check, equal, fail, sameBytes, sameSet, succeeds, utf8, utf8Text } from "./assertions";
import type { ConformanceCase, ConformanceEnv, ConformanceSuite } from "./conformance-case";
import { sleep, waitFor } from "./deadline";

/**
 * The pub/sub suite, from spec/components/pubsub.cap.
 *
 * Every case works on topics and consumer groups named after its env prefix, so
 * cases never see each other's messages, even on a shared broker. Arrivals are
 * awaited against a generous deadline (a Kafka consumer group takes seconds to
 * form; an in-process or Redis adapter passes in milliseconds); an absence (no
 * redelivery, nothing after close) is checked by listening a short fixed while,
 * several times the redelivery backoff the suite configures, after a later
 * message proved the subscription was live.
 *
 * The IDL promises delivery of what is published after subscribe resolves; what
 * was published before a group's first subscription is promised only by DURABLE
 * adapters, and those cases sit under DURABLE.
 */

type Case<F extends PubsubFeature | never> = ConformanceCase<[F] extends [never] ? PubSub : PubSubWith<F>, PubsubFeature>;

/**
 * The metadata every case's component is created with (for the fields the adapter
 * declares; see ConformanceSuite.metadata): the Redelivery group with short
 * backoffs, so redelivery cases take milliseconds, and 3 deliveries before a
 * message goes to a dead-letter topic.
 */
export const PUBSUB_CASE_METADATA = { redeliveryBackoff: "20ms", maxRedeliveryBackoff: "100ms", maxDeliveries: "3" } as const;
const MAX_DELIVERIES = 3;

/** How long a message may take to arrive: a consumer group joining a Kafka broker takes seconds. */
const ARRIVES_WITHIN_MS = 20_000;
/** How long the suite listens for a delivery that must not come: five times the longest backoff it configures. */
const QUIET_MS = 500;
/** Each case waits for a few arrivals and restarts at most once. */
const CASE_TIMEOUT_MS = 90_000;

/** The core: every pub/sub component, whatever it declares. */
const core: readonly Case<never>[] = [
  {
    name: "a message published to a subscribed topic is delivered once, with its topic, data, content type and metadata",
    async run(pubsub, env) {
      const topic = env.key("orders");
      const inbox = await subscribe(pubsub, env, { topic, consumerGroup: env.key("app") });
      const metadata = { "x-conformance": "kept", "x-unicode": "ünïcødé ✓" };
      await publish(pubsub, topic, "hello", { contentType: "text/plain", metadata });
      await inbox.until("the message", (all) => all.length >= 1);
      const [got] = inbox.received;
      check(typeof got.id === "string" && got.id !== "", `the delivered message's id: expected a non-empty string, got ${JSON.stringify(got.id)}`);
      equal(got.topic, topic, "the delivered message's topic");
      sameBytes(got.data, utf8("hello"), "the delivered message's data");
      equal(got.contentType, "text/plain", "the delivered message's contentType");
      equal(got.deliveryCount, 1, "the deliveryCount of a first delivery");
      keptMetadata(got, metadata, "the delivered message");
      await quiet();
      equal(inbox.received.length, 1, `deliveries of a message answered SUCCESS on topic '${topic}'`);
    },
  },
  {
    name: "binary and empty payloads arrive byte for byte",
    async run(pubsub, env) {
      const topic = env.key("bytes");
      const inbox = await subscribe(pubsub, env, { topic, consumerGroup: env.key("app") });
      // Every byte value (NUL, bytes that are not UTF-8), then 64 KiB of random bytes.
      const everyByte = Uint8Array.from({ length: 512 }, (_, i) => (i * 7 + 255) % 256);
      const large = new Uint8Array(randomBytes(64 * 1024));
      const empty = new Uint8Array(0);
      for (const data of [everyByte, large, empty]) {
        await publish(pubsub, topic, data, { contentType: "application/octet-stream" });
      }
      await inbox.until("the three payloads", (all) => all.length >= 3);
      const bySize = new Map(inbox.received.map((m) => [m.data.length, m]));
      for (const [what, data] of [["every byte value", everyByte], ["64 KiB of random bytes", large], ["an empty payload", empty]] as const) {
        const got = bySize.get(data.length);
        if (got === undefined) fail(`${what}: no delivered message has ${data.length} bytes (got sizes ${[...bySize.keys()].join(", ")})`);
        sameBytes(got.data, data, `${what}: the delivered data`);
        equal(got.contentType, "application/octet-stream", `${what}: the delivered contentType`);
      }
    },
  },
  {
    name: "several topics, each with its own handler: each handler gets only its topic's messages",
    async run(pubsub, env) {
      const group = env.key("app");
      const topics = [env.key("orders"), env.key("payments"), env.key("shipments")];
      const inboxes = await Promise.all(topics.map((topic) => subscribe(pubsub, env, { topic, consumerGroup: group })));
      for (let round = 1; round <= 3; round++) {
        for (const topic of topics) await publish(pubsub, topic, `${topic}#${round}`);
      }
      for (const [i, topic] of topics.entries()) {
        await inboxes[i].until(`three messages of '${topic}'`, (all) => all.length >= 3);
      }
      await quiet();
      for (const [i, topic] of topics.entries()) {
        sameSet(payloads(inboxes[i].received), [1, 2, 3].map((r) => `${topic}#${r}`), `messages delivered to the handler of '${topic}'`);
        for (const m of inboxes[i].received) equal(m.topic, topic, `the topic of a message delivered to the handler of '${topic}'`);
      }
    },
  },
  {
    name: "two subscriptions in one consumer group share its messages: each is delivered to one of them, once",
    async run(pubsub, env) {
      const topic = env.key("orders");
      const group = env.key("app");
      const first = await subscribe(pubsub, env, { topic, consumerGroup: group });
      const second = await subscribe(pubsub, env, { topic, consumerGroup: group });
      const sent = Array.from({ length: 10 }, (_, i) => `m${i + 1}`);
      for (const text of sent) await publish(pubsub, topic, text);
      const both = () => [...first.received, ...second.received];
      await waitFor(
        () => `all 10 messages reach the two subscriptions of group '${group}' (got ${show(payloads(both()))})`,
        ARRIVES_WITHIN_MS,
        () => new Set(payloads(both())).size >= sent.length,
        10,
      );
      await quiet();
      const delivered = payloads(both());
      sameSet(delivered, sent, `messages delivered to the two subscriptions of one group, together (each once)`);
    },
  },
  {
    name: "two consumer groups each receive every message",
    async run(pubsub, env) {
      const topic = env.key("orders");
      const a = await subscribe(pubsub, env, { topic, consumerGroup: env.key("group-a") });
      const b = await subscribe(pubsub, env, { topic, consumerGroup: env.key("group-b") });
      const sent = ["1", "2", "3", "4", "5"];
      for (const text of sent) await publish(pubsub, topic, text);
      await a.until("all 5 messages in group a", (all) => new Set(payloads(all)).size >= 5);
      await b.until("all 5 messages in group b", (all) => new Set(payloads(all)).size >= 5);
      sameSet([...new Set(payloads(a.received))], sent, "messages delivered to group a");
      sameSet([...new Set(payloads(b.received))], sent, "messages delivered to group b");
    },
  },
  {
    name: "RETRY: the same message (same id and data) is delivered again, with deliveryCount 2",
    async run(pubsub, env) {
      const topic = env.key("orders");
      const inbox = await subscribe(pubsub, env, { topic, consumerGroup: env.key("app") }, (_m, seen) => (seen === 1 ? "RETRY" : "SUCCESS"));
      await publish(pubsub, topic, "again");
      await inbox.until("the message and its redelivery", (all) => all.length >= 2);
      const [first, second] = inbox.received;
      sameRedelivery(first, second, "after RETRY");
      await quiet();
      equal(inbox.received.length, 2, "deliveries of a message answered RETRY once, then SUCCESS");
    },
  },
  {
    name: "a handler that throws: the message is delivered again",
    async run(pubsub, env) {
      const topic = env.key("orders");
      const inbox = await subscribe(pubsub, env, { topic, consumerGroup: env.key("app") }, (_m, seen) => {
        if (seen === 1) throw new Error("conformance: the app is not ready");
        return "SUCCESS";
      });
      await publish(pubsub, topic, "again");
      await inbox.until("the message and its redelivery", (all) => all.length >= 2);
      sameRedelivery(inbox.received[0], inbox.received[1], "after the handler threw");
    },
  },
  {
    name: "DROP acknowledges: the message is not delivered again",
    async run(pubsub, env) {
      const topic = env.key("orders");
      const inbox = await subscribe(pubsub, env, { topic, consumerGroup: env.key("app") }, (m) =>
        utf8Text(m.data) === "poison" ? "DROP" : "SUCCESS",
      );
      await publish(pubsub, topic, "poison");
      await publish(pubsub, topic, "after");
      await inbox.until("the dropped message and the one after it", (all) => payloads(all).includes("after") && payloads(all).includes("poison"));
      await quiet();
      equal(payloads(inbox.received).filter((p) => p === "poison").length, 1, "deliveries of a message answered DROP");
    },
  },
  {
    name: "close() of a subscription stops its deliveries; the group's next subscription gets what came meanwhile",
    async run(pubsub, env) {
      const topic = env.key("orders");
      const group = env.key("app");
      const first = await subscribe(pubsub, env, { topic, consumerGroup: group });
      await publish(pubsub, topic, "before-close");
      await first.until("the message published before close", (all) => all.length >= 1);
      await succeeds(first.close(), "close of the subscription");
      await publish(pubsub, topic, "after-close");
      await quiet();
      sameSet(payloads(first.received), ["before-close"], "messages delivered to a subscription closed after the first");
      // (Whether "before-close" comes again is not checked: its acknowledgement may still be under way at close.)
      const next = await subscribe(pubsub, env, { topic, consumerGroup: group });
      await next.until("the message published while the group had no subscription", (all) => payloads(all).includes("after-close"));
    },
  },
];

/** DURABLE: messages outlive the component and wait for their group. */
const durable: readonly Case<"DURABLE">[] = [
  {
    name: "messages published before a group's first subscription are delivered to it",
    async run(pubsub, env) {
      const topic = env.key("orders");
      // Another group exists already, so the topic does too: the new group still gets the earlier messages.
      const other = await subscribe(pubsub, env, { topic, consumerGroup: env.key("other") });
      await publish(pubsub, topic, "early-1");
      await publish(pubsub, topic, "early-2");
      await other.until("both messages in the group that was subscribed", (all) => all.length >= 2);
      const late = await subscribe(pubsub, env, { topic, consumerGroup: env.key("late") });
      await publish(pubsub, topic, "after");
      await late.until("the earlier messages and the later one", (all) => new Set(payloads(all)).size >= 3);
      sameSet([...new Set(payloads(late.received))], ["early-1", "early-2", "after"], "messages delivered to a group subscribed after two were published");
    },
  },
  {
    name: "after a restart, what the group did not acknowledge is delivered again, and what it acknowledged is not",
    async run(pubsub, env) {
      const topic = env.key("orders");
      const group = env.key("app");
      const before = await subscribe(pubsub, env, { topic, consumerGroup: group }, (m) =>
        utf8Text(m.data) === "acknowledged" ? "SUCCESS" : "RETRY",
      );
      await publish(pubsub, topic, "acknowledged");
      await publish(pubsub, topic, "unacknowledged");
      // Seen twice: the adapter has handled the RETRY (and the SUCCESS before it) by then.
      await before.until("the acknowledged message, and the other one twice", (all) => {
        const seen = payloads(all);
        return seen.includes("acknowledged") && seen.filter((p) => p === "unacknowledged").length >= 2;
      });
      const unacknowledged = before.received.find((m) => utf8Text(m.data) === "unacknowledged")!;
      await succeeds(before.close(), "close of the subscription before the restart");
      await succeeds(env.close(pubsub), "close of the component (the runtime stops)");

      const restarted = await succeeds(env.open(), "creating the component again with the same metadata");
      const after = await subscribe(restarted, env, { topic, consumerGroup: group });
      await after.until("the unacknowledged message, after the restart", (all) => payloads(all).includes("unacknowledged"));
      const again = after.received.find((m) => utf8Text(m.data) === "unacknowledged")!;
      equal(again.id, unacknowledged.id, "the id of the unacknowledged message, delivered after the restart");
      equal(again.topic, topic, "the topic of the message delivered after the restart");
      await quiet();
      check(
        !payloads(after.received).includes("acknowledged"),
        "a message acknowledged (SUCCESS) before the restart was delivered again after it",
      );
    },
  },
];

/** ORDERED: one topic's messages in publish order, one at a time. */
const ordered: readonly Case<"ORDERED">[] = [
  {
    name: "50 messages to one topic are delivered in publish order, one at a time",
    async run(pubsub, env) {
      const topic = env.key("orders");
      const inbox = await subscribe(pubsub, env, { topic, consumerGroup: env.key("app") }, async () => {
        // A pause inside the handler gives an adapter that overlaps deliveries the chance to show it.
        await sleep(1);
        return "SUCCESS" as const;
      });
      const sent = numbered(50);
      for (const text of sent) await publish(pubsub, topic, text, { metadata: sameKey });
      await inbox.until("all 50 messages", (all) => all.length >= 50);
      equal(show(payloads(inbox.received)), show(sent), "the order of delivery");
      equal(inbox.mostAtOnce(), 1, "the most deliveries under way at once");
    },
  },
  {
    name: "a RETRY holds back the messages behind it until its redelivery",
    async run(pubsub, env) {
      const topic = env.key("orders");
      const inbox = await subscribe(pubsub, env, { topic, consumerGroup: env.key("app") }, (m, seen) =>
        utf8Text(m.data) === "m10" && seen === 1 ? "RETRY" : "SUCCESS",
      );
      const sent = numbered(50);
      for (const text of sent) await publish(pubsub, topic, text, { metadata: sameKey });
      await inbox.until("all 50 messages and the redelivery of m10", (all) => all.length >= 51);
      const expected = [...sent.slice(0, 10), "m10", ...sent.slice(10)];
      equal(show(payloads(inbox.received)), show(expected), "the order of delivery, m10 answered RETRY once");
    },
  },
];

/** DEAD_LETTER: after maxDeliveries, a message moves to the subscription's dead-letter topic. */
const deadLetter: readonly Case<"DEAD_LETTER">[] = [
  {
    name: `a message delivered maxDeliveries (${MAX_DELIVERIES}) times without success moves to the dead-letter topic, and only there`,
    async run(pubsub, env) {
      const topic = env.key("orders");
      const deadLetterTopic = env.key("orders-dead");
      // Subscribed first, so the dead-letter topic has a group before anything goes there.
      const dead = await subscribe(pubsub, env, { topic: deadLetterTopic, consumerGroup: env.key("operator") });
      const live = await subscribe(pubsub, env, { topic, consumerGroup: env.key("app"), deadLetterTopic }, () => "RETRY");
      const metadata = { "x-conformance": "dead-letter" };
      await publish(pubsub, topic, "poison", { contentType: "text/plain", metadata });
      await dead.until("the message on the dead-letter topic", (all) => all.length >= 1);
      const [moved] = dead.received;
      sameBytes(moved.data, utf8("poison"), "the data of the dead letter");
      equal(moved.contentType, "text/plain", "the contentType of the dead letter");
      equal(moved.topic, deadLetterTopic, "the topic the dead letter is delivered from");
      keptMetadata(moved, metadata, "the dead letter");
      await quiet();
      equal(
        show(live.received.map((m) => m.deliveryCount)),
        show([1, 2, 3]),
        `deliveryCount of each delivery on '${topic}' of a message always answered RETRY`,
      );
    },
  },
  {
    name: "without a deadLetterTopic, a message is delivered again past maxDeliveries",
    async run(pubsub, env) {
      const topic = env.key("orders");
      const inbox = await subscribe(pubsub, env, { topic, consumerGroup: env.key("app") }, (_m, seen) =>
        seen <= MAX_DELIVERIES + 1 ? "RETRY" : "SUCCESS",
      );
      await publish(pubsub, topic, "stubborn");
      await inbox.until(`${MAX_DELIVERIES + 2} deliveries of the message`, (all) => all.length >= MAX_DELIVERIES + 2);
      equal(new Set(inbox.received.map((m) => m.id)).size, 1, "distinct ids among the deliveries of one message");
    },
  },
];

/** BULK: many messages in one call. */
const bulk: readonly Case<"BULK">[] = [
  {
    name: "bulkPublish delivers every message, with its data and metadata",
    async run(pubsub, env) {
      if (!pubSubHas(pubsub, "BULK")) fail("the component declares BULK but does not report it");
      const topic = env.key("orders");
      const inbox = await subscribe(pubsub, env, { topic, consumerGroup: env.key("app") });
      const sent = numbered(20);
      const requests: PublishRequest[] = sent.map((text) => ({
        topic,
        data: utf8(text),
        contentType: "text/plain",
        metadata: { "x-conformance": text },
      }));
      await succeeds(pubsub.bulkPublish(requests), `bulkPublish of 20 messages to '${topic}'`);
      await inbox.until("all 20 messages", (all) => new Set(payloads(all)).size >= 20);
      sameSet([...new Set(payloads(inbox.received))], sent, "messages delivered after bulkPublish");
      for (const m of inbox.received) keptMetadata(m, { "x-conformance": utf8Text(m.data) }, `message ${utf8Text(m.data)}`);
    },
  },
];

/**
 * Every pub/sub case, by group. The type lists every PubsubFeature of the IDL: a
 * new feature in pubsub.cap fails this declaration until it has cases here.
 */
export const pubsubCases: { readonly core: readonly Case<never>[] } & { readonly [F in PubsubFeature]: readonly Case<F>[] } = {
  core: withTimeout(core),
  BULK: withTimeout(bulk),
  ORDERED: withTimeout(ordered),
  DEAD_LETTER: withTimeout(deadLetter),
  DURABLE: withTimeout(durable),
};

export const pubsubSuite: ConformanceSuite<"pubsub"> = {
  capability: "pubsub",
  features: pubsubFeatures,
  cases: pubsubCases,
  metadata: PUBSUB_CASE_METADATA,
};

/** Where the broker partitions, ORDERED is per partition key: the ordered cases give all messages one. */
const sameKey = { partitionKey: "conformance" };

function withTimeout<C extends { timeoutMs?: number }>(cases: readonly C[]): readonly C[] {
  return cases.map((c) => ({ timeoutMs: CASE_TIMEOUT_MS, ...c }));
}

/** What a test handler answers, given the message and how many times this subscription has seen its id. */
type Answer = (message: TopicMessage, seen: number) => DeliveryResult | Promise<DeliveryResult>;

interface Inbox {
  /** Every delivery, in the order the handler was called. */
  readonly received: TopicMessage[];
  /** Waits until check holds for what was received, naming what was awaited when it does not. */
  until(what: string, check: (received: readonly TopicMessage[]) => boolean): Promise<void>;
  /** The most handler calls that were under way at once. */
  mostAtOnce(): number;
  /** Closes the subscription now; the case's cleanup then skips it. */
  close(): Promise<void>;
}

/** Subscribes with a recording handler; the subscription is closed with the case unless the case closes it. */
async function subscribe(
  pubsub: PubSub,
  env: ConformanceEnv<PubSub>,
  request: Omit<SubscribeRequest, "metadata">,
  answer: Answer = () => "SUCCESS",
): Promise<Inbox> {
  const received: TopicMessage[] = [];
  const seen = new Map<string, number>();
  let running = 0;
  let most = 0;
  const described = `the subscription to '${request.topic}' in group '${request.consumerGroup}'`;
  const subscription: Subscription = await succeeds(
    pubsub.subscribe({ ...request, metadata: {} }, async (message) => {
      received.push(message);
      seen.set(message.id, (seen.get(message.id) ?? 0) + 1);
      running++;
      most = Math.max(most, running);
      try {
        return await answer(message, seen.get(message.id)!);
      } finally {
        running--;
      }
    }),
    `subscribe to '${request.topic}' in group '${request.consumerGroup}'`,
  );
  let closed = false;
  env.defer(async () => {
    if (!closed) await subscription.close();
  });
  return {
    received,
    until: (what, check) =>
      waitFor(() => `${what} reach ${described} (got ${show(payloads(received))})`, ARRIVES_WITHIN_MS, () => check(received), 10),
    mostAtOnce: () => most,
    close() {
      closed = true;
      return subscription.close();
    },
  };
}

async function publish(
  pubsub: PubSub,
  topic: string,
  data: string | Uint8Array,
  extra: { contentType?: string; metadata?: Record<string, string> } = {},
): Promise<void> {
  const request: PublishRequest = {
    topic,
    data: typeof data === "string" ? utf8(data) : data,
    contentType: extra.contentType ?? "text/plain",
    metadata: extra.metadata ?? {},
  };
  await succeeds(pubsub.publish(request), `publish to '${topic}'`);
}

/** The second delivery is the first one again: same id, topic and data, deliveryCount 1 then 2. */
function sameRedelivery(first: TopicMessage, second: TopicMessage, when: string): void {
  equal(second.id, first.id, `the id of the message delivered again ${when}`);
  equal(second.topic, first.topic, `the topic of the message delivered again ${when}`);
  sameBytes(second.data, first.data, `the data of the message delivered again ${when}`);
  equal(first.deliveryCount, 1, "the deliveryCount of the first delivery");
  equal(second.deliveryCount, 2, `the deliveryCount of the delivery ${when}`);
}

/** Every published metadata entry arrives; an adapter may add entries of its own (a broker's headers, say). */
function keptMetadata(message: TopicMessage, published: Record<string, string>, what: string): void {
  for (const [key, value] of Object.entries(published)) {
    equal(message.metadata[key], value, `${what}: metadata '${key}'`);
  }
}

function payloads(messages: readonly TopicMessage[]): string[] {
  return messages.map((m) => utf8Text(m.data));
}

function numbered(count: number): string[] {
  return Array.from({ length: count }, (_, i) => `m${i + 1}`);
}

/** Lists in failure messages: the first 60 items. */
function show(items: readonly (string | number)[]): string {
  const shown = items.slice(0, 60).join(", ");
  return `[${shown}${items.length > 60 ? `, ... ${items.length - 60} more` : ""}]`;
}

/** Listens for a delivery that must not come. */
function quiet(): Promise<void> {
  return sleep(QUIET_MS);
}
