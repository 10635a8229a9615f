import type { PublishRequest, TopicMessage } from "@ottavo/generated/components/pubsub";

/**
 * A message as one stream entry: fields `data` (the bytes as published),
 * `contentType` and `metadata` (a JSON object of strings). `data` and `metadata`
 * are Dapr's fields (pubsub.redis writes them alike), so either runtime reads what
 * the other published; an entry without contentType reads back with an empty one.
 */
export function entryFields(request: PublishRequest): (string | Buffer)[] {
  return [
    "data",
    // A copy: ioredis writes the bytes when the command is sent, the caller owns request.data.
    Buffer.from(request.data),
    "contentType",
    request.contentType,
    "metadata",
    JSON.stringify(request.metadata),
  ];
}

/** A stream entry as Redis answers it (Buffer replies): its id and its flat field/value list. */
export interface StreamEntry {
  readonly id: string;
  readonly fields: readonly Buffer[];
}

/** The message a stream entry holds, as delivered the deliveryCount-th time. */
export function topicMessage(topic: string, entry: StreamEntry, deliveryCount: number): TopicMessage {
  let data = new Uint8Array(0);
  let contentType = "";
  let metadata: Record<string, string> = {};
  for (let i = 0; i + 1 < entry.fields.length; i += 2) {
    const value = entry.fields[i + 1];
    switch (entry.fields[i].toString("utf8")) {
      case "data":
        // A plain copy, not the Buffer: handlers get what publishers gave, a Uint8Array.
        data = new Uint8Array(value);
        break;
      case "contentType":
        contentType = value.toString("utf8");
        break;
      case "metadata":
        metadata = stringMap(value.toString("utf8"));
        break;
    }
  }
  return { id: entry.id, topic, data, contentType, deliveryCount, metadata };
}

/**
 * The entries of an XREADGROUP reply for one stream: `[[stream, [[id, fields]...]]]`,
 * or null when the block timed out. An entry deleted while pending has null fields;
 * it is skipped (XREADGROUP with ">" never answers one).
 */
export function readReply(reply: unknown): StreamEntry[] {
  if (!Array.isArray(reply)) return [];
  const entries: StreamEntry[] = [];
  for (const stream of reply) {
    if (!Array.isArray(stream) || !Array.isArray(stream[1])) continue;
    for (const item of stream[1] as unknown[]) {
      const entry = streamEntry(item);
      if (entry !== undefined) entries.push(entry);
    }
  }
  return entries;
}

/** One `[id, [field, value, ...]]` pair of a reply, or undefined when it is not one. */
export function streamEntry(item: unknown): StreamEntry | undefined {
  if (!Array.isArray(item) || !Buffer.isBuffer(item[0]) || !Array.isArray(item[1])) return undefined;
  const fields = (item[1] as unknown[]).filter((f): f is Buffer => Buffer.isBuffer(f));
  return { id: item[0].toString("utf8"), fields };
}

/** The metadata field: a JSON object whose string values are kept; anything else reads as none. */
function stringMap(json: string): Record<string, string> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(json);
  } catch {
    return {};
  }
  const map: Record<string, string> = {};
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) return map;
  for (const [key, value] of Object.entries(parsed)) if (typeof value === "string") map[key] = value;
  return map;
}
