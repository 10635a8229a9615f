import type { ConnectionOptions } from "node:tls";
import type { KafkaConfig, SASLOptions } from "kafkajs";
import { MetadataError } from "@ottavo/component-runtime";
import type { KafkaPubsubMetadata } from "@ottavo/generated/components/adapters/kafka";

/** Where a group starts on a partition it never committed an offset for. */
export type InitialOffset = "newest" | "oldest";

/** How messages a handler did not settle are delivered again (the Redelivery group). */
export interface RedeliveryPolicy {
  readonly initialMs: number;
  readonly maxMs: number;
  /** 0: no limit. */
  readonly maxDeliveries: number;
}

/** The component's metadata, checked and turned into what kafkajs and the subscriptions take. */
export interface KafkaSettings {
  /** The kafkajs client options: brokers, client id, TLS, SASL. */
  readonly client: KafkaConfig;
  /** The brokers as given, for messages; never carries credentials. */
  readonly endpoint: string;
  /** The component's consumerGroup, which replaces the subscription's when given. */
  readonly consumerGroup?: string;
  readonly initialOffset: InitialOffset;
  readonly sessionTimeoutMs: number;
  readonly heartbeatIntervalMs: number;
  readonly redelivery: RedeliveryPolicy;
}

/**
 * Validates the metadata as a whole (MetadataError listing every problem) and
 * builds the client options. Authentication and TLS follow Dapr's reading
 * (common/component/kafka/auth.go): authType "none" never uses TLS; any other
 * authType uses TLS unless disableTls.
 */
export function readSettings(metadata: KafkaPubsubMetadata): KafkaSettings {
  const problems: string[] = [];
  const brokers = parseBrokers(metadata.brokers, problems);

  // initialOffset's, authType's and saslMechanism's values, a non-blank clientID, the
  // timeouts' and redelivery's ranges (maxRedeliveryBackoff at least redeliveryBackoff
  // included) are declared in spec/components/adapters/{kafka,redelivery}.cap and
  // checked by the parser; the heartbeat, strictly below the session timeout, is here.
  if (metadata.heartbeatInterval >= metadata.sessionTimeout) {
    problems.push("metadata field 'heartbeatInterval' must be below 'sessionTimeout'");
  }

  const security = readSecurity(metadata, problems);
  if (problems.length > 0) throw new MetadataError(problems);

  const consumerGroup = metadata.consumerGroup?.trim();
  return {
    client: {
      brokers,
      clientId: metadata.clientID.trim(),
      ...security,
    },
    endpoint: brokers.join(","),
    ...(consumerGroup ? { consumerGroup } : {}),
    initialOffset: metadata.initialOffset,
    sessionTimeoutMs: Math.ceil(metadata.sessionTimeout),
    heartbeatIntervalMs: Math.ceil(metadata.heartbeatInterval),
    redelivery: {
      initialMs: metadata.redeliveryBackoff,
      maxMs: metadata.maxRedeliveryBackoff,
      maxDeliveries: metadata.maxDeliveries,
    },
  };
}

/** "host:port,host:port" as Dapr splits it, blanks around commas allowed; every entry needs a port. */
function parseBrokers(text: string, problems: string[]): string[] {
  const entries = text.split(",").map((entry) => entry.trim()).filter((entry) => entry !== "");
  if (entries.length === 0) problems.push("metadata field 'brokers' must list at least one broker as host:port");
  for (const entry of entries) {
    const match = /^(\[[^\]]+\]|[^:\s]+):(\d{1,5})$/.exec(entry);
    const port = match === null ? NaN : Number(match[2]);
    if (!(port >= 1 && port <= 65535)) {
      problems.push(`metadata field 'brokers' must list brokers as host:port with a port from 1 to 65535, not ${JSON.stringify(entry)}`);
    }
  }
  return entries;
}

function readSecurity(
  metadata: KafkaPubsubMetadata,
  problems: string[],
): { ssl?: ConnectionOptions | boolean; sasl?: SASLOptions } {
  const authType = metadata.authType;
  const given = (value: string | undefined): value is string => value !== undefined && value.trim() !== "";
  let sasl: SASLOptions | undefined;
  switch (authType) {
    case "none":
      return {};
    // What each authType requires (saslUsername and saslPassword, clientCert and clientKey,
    // caCert) is declared in kafka.cap (requiredWhen) and checked by the parser.
    case "password": {
      const mechanism = saslMechanism(metadata.saslMechanism);
      sasl = { mechanism, username: metadata.saslUsername ?? "", password: metadata.saslPassword ?? "" } as SASLOptions;
      break;
    }
    case "mtls":
      if (metadata.disableTls) problems.push(`metadata field 'disableTls' cannot be true with authType "mtls"`);
      break;
    case "certificate":
      break;
  }
  if (metadata.disableTls) return sasl === undefined ? {} : { sasl };
  const tls: ConnectionOptions = { rejectUnauthorized: !metadata.skipVerify, minVersion: "TLSv1.2" };
  if (given(metadata.caCert)) tls.ca = [metadata.caCert];
  if (authType === "mtls" && given(metadata.clientCert) && given(metadata.clientKey)) {
    tls.cert = metadata.clientCert;
    tls.key = metadata.clientKey;
  }
  return sasl === undefined ? { ssl: tls } : { ssl: tls, sasl };
}

/** Dapr's names for the SASL mechanisms (the values kafka.cap allows), as kafkajs spells them. */
function saslMechanism(name: KafkaPubsubMetadata["saslMechanism"]): "plain" | "scram-sha-256" | "scram-sha-512" {
  switch (name) {
    case "PLAINTEXT":
    case "PLAIN":
      return "plain";
    case "SHA-256":
    case "SCRAM-SHA-256":
      return "scram-sha-256";
    case "SHA-512":
    case "SCRAM-SHA-512":
      return "scram-sha-512";
  }
}
