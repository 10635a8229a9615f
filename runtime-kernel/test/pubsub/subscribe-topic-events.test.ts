/**
 * The streaming subscription's ending, beyond what test/handlers covers: when
 * the runtime shuts down, the stream stops taking new messages but still takes
 * the client's answers to the ones it holds, so an acknowledged message is not
 * delivered again.
 */
import { create } from "@bufbuild/protobuf";
import { TopicEventResponse_TopicEventResponseStatus as Status } from "@ottavo/generated/spec/proto/runtime/v1/appcallback_pb";
import {
  PublishEventRequestSchema,
  SubscribeTopicEventsRequestSchema,
  type SubscribeTopicEventsRequest,
} from "@ottavo/generated/spec/proto/runtime/v1/runtime_pb";
import { bytes, clientStream, contextFor, nextOf, runtimeWith, text } from "../handlers/support";

let runtime: Awaited<ReturnType<typeof runtimeWith>>;
beforeEach(async () => {
  runtime = await runtimeWith([{ capability: "pubsub", type: "in-memory", name: "pub_subs_demo" }]);
});
afterEach(() => runtime.close());

const initial = create(SubscribeTopicEventsRequestSchema, {
  subscribeTopicEventsRequestType: { case: "initialRequest", value: { pubsubName: "pub_subs_demo", topic: "orders" } },
});
const processed = (id: string, status: Status) =>
  create(SubscribeTopicEventsRequestSchema, {
    subscribeTopicEventsRequestType: { case: "eventProcessed", value: { id, status: { status } } },
  });
const publish = (data: string) =>
  runtime.groups.pubsub.publishEvent(
    create(PublishEventRequestSchema, { pubsubName: "pub_subs_demo", topic: "orders", data: bytes(data), dataContentType: "text/plain" }),
    contextFor("publishEvent"),
  );

async function open(signal?: AbortSignal) {
  const client = clientStream<SubscribeTopicEventsRequest>();
  const stream = runtime.groups.pubsub
    .subscribeTopicEvents(client.iterable, contextFor("subscribeTopicEvents", { signal }))
    [Symbol.asyncIterator]();
  client.push(initial);
  expect((await nextOf(stream)).value?.subscribeTopicEventsResponseType.case).toBe("initialResponse");
  const nextEvent = async () => {
    const next = await nextOf(stream);
    const kind = next.value?.subscribeTopicEventsResponseType;
    if (kind?.case !== "eventMessage") throw new Error(`expected an event, got ${next.done ? "the end" : kind?.case}`);
    return kind.value;
  };
  return { client, stream, nextEvent };
}

it("takes the client's answer to a held message after shutdown began, then ends", async () => {
  const shutdown = new AbortController();
  const first = await open(shutdown.signal);
  await publish("held");
  const held = await first.nextEvent();

  shutdown.abort();
  const ending = first.stream.next();
  await publish("after shutdown began");
  first.client.push(processed(held.id, Status.SUCCESS));
  // Nothing was sent after shutdown began: the next thing on the stream is its end.
  expect((await ending).done).toBe(true);

  // The sentinel: the next subscriber's first message is the one published after shutdown began,
  // not the held one, so the stream was still open and took the client's answer (an end before
  // the answer would have settled the held message RETRY, and it would come first here).
  const second = await open();
  const next = await second.nextEvent();
  expect(text(next.data)).toBe("after shutdown began");
  second.client.push(processed(next.id, Status.SUCCESS));
  second.client.end();
  await nextOf(second.stream);
});

it("settles held messages RETRY when the stream ends without an answer", async () => {
  const shutdown = new AbortController();
  const first = await open(shutdown.signal);
  await publish("unanswered");
  const held = await first.nextEvent();
  shutdown.abort();
  first.client.end(); // the client goes away without answering
  expect((await nextOf(first.stream)).done).toBe(true);

  const second = await open();
  const again = await second.nextEvent();
  expect(again.id).toBe(held.id);
  second.client.push(processed(again.id, Status.SUCCESS));
  second.client.end();
  await nextOf(second.stream);
});
