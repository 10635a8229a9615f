import { ComponentError } from "@ottavo/component-runtime";
import { parseKafkaPubsubMetadata } from "@ottavo/generated/components/adapters/kafka";
import { MetadataError } from "@ottavo/component-runtime";
import { freePort } from "@ottavo/test-support";
import { kafkaAdapters } from "../src";
import { kafkaPubsubAdapter } from "../src/kafka-pubsub";
import { readSettings } from "../src/kafka-settings";
import { context } from "./support";

const settings = (raw: Record<string, unknown>) => readSettings(parseKafkaPubsubMetadata(raw));
const problems = (raw: Record<string, unknown>): string[] => {
  try {
    settings(raw);
  } catch (error) {
    if (error instanceof MetadataError) return [...error.problems];
    throw error;
  }
  return [];
};

describe("kafka metadata", () => {
  it("declares the pubsub adapter with its features and Dapr's metadata names", () => {
    expect(kafkaAdapters.map((a) => `${a.capability}/${a.type}`)).toEqual(["pubsub/kafka"]);
    expect([...kafkaPubsubAdapter.features].sort()).toEqual(["BULK", "DEAD_LETTER", "DURABLE", "ORDERED"]);
    const fields = new Map(kafkaPubsubAdapter.metadata.map((f) => [f.name, f]));
    expect(fields.get("brokers")?.required).toBe(true);
    for (const name of ["consumerGroup", "clientID", "authType", "saslUsername", "saslMechanism", "initialOffset", "disableTls", "skipVerify", "caCert", "clientCert", "sessionTimeout", "heartbeatInterval", "maxDeliveries"]) {
      expect(fields.has(name)).toBe(true);
    }
    expect(fields.get("saslPassword")?.sensitive).toBe(true);
    expect(fields.get("clientKey")?.sensitive).toBe(true);
  });

  it("reads brokers, defaults and plaintext without authentication", () => {
    const s = settings({ brokers: " 127.0.0.1:9092, kafka-1.local:9093 " });
    expect(s.client.brokers).toEqual(["127.0.0.1:9092", "kafka-1.local:9093"]);
    expect(s.client.clientId).toBe("ottavo");
    expect(s.client.ssl).toBeUndefined();
    expect(s.client.sasl).toBeUndefined();
    expect(s.endpoint).toBe("127.0.0.1:9092,kafka-1.local:9093");
    expect(s.initialOffset).toBe("oldest");
    expect(s.consumerGroup).toBeUndefined();
    expect(s.sessionTimeoutMs).toBe(10_000);
    expect(s.heartbeatIntervalMs).toBe(3_000);
    expect(s.redelivery).toEqual({ initialMs: 100, maxMs: 10_000, maxDeliveries: 10 });
  });

  it("lists every problem at once: what the spec declares first, then what spans fields", () => {
    // initialOffset's values and maxDeliveries' range are declared in kafka.cap, checked by the generated parser.
    expect(
      problems({ brokers: "nohost, :9092, h:99999", initialOffset: "latest", heartbeatInterval: "20s", maxDeliveries: -1 }),
    ).toEqual([
      `metadata field 'initialOffset' must be one of "newest", "oldest", not "latest"`,
      "metadata field 'maxDeliveries' must be at least 0, not -1",
    ]);
    // So are a blank clientID (pattern "\\S") and a redelivery backoff of 0 (Redelivery's min "1ms").
    expect(problems({ brokers: "k:9092", clientID: " ", redeliveryBackoff: "0" })).toEqual([
      `metadata field 'clientID' must match /\\S/, not " "`,
      "metadata field 'redeliveryBackoff' must be at least 1ms, not 0",
    ]);
    // And maxRedeliveryBackoff below redeliveryBackoff (Redelivery's min redeliveryBackoff).
    expect(problems({ brokers: "k:9092", redeliveryBackoff: "2s", maxRedeliveryBackoff: "1s" })).toEqual([
      "metadata field 'maxRedeliveryBackoff' must be at least 'redeliveryBackoff' (2000ms), not 1000ms",
    ]);
    expect(problems({ brokers: "nohost, :9092, h:99999", initialOffset: "Newest", heartbeatInterval: "20s" })).toEqual([
      `metadata field 'brokers' must list brokers as host:port with a port from 1 to 65535, not "nohost"`,
      `metadata field 'brokers' must list brokers as host:port with a port from 1 to 65535, not ":9092"`,
      `metadata field 'brokers' must list brokers as host:port with a port from 1 to 65535, not "h:99999"`,
      "metadata field 'heartbeatInterval' must be below 'sessionTimeout'",
    ]);
    expect(problems({})).toEqual(["missing required metadata field 'brokers'"]);
    expect(problems({ brokers: " , " })).toEqual(["metadata field 'brokers' must list at least one broker as host:port"]);
  });

  it("reads SASL as Dapr does: TLS on unless disableTls, mechanisms by Dapr's names", () => {
    const s = settings({ brokers: "k:9093", authType: "password", saslUsername: "u", saslPassword: "p", saslMechanism: "SHA-512" });
    expect(s.client.sasl).toEqual({ mechanism: "scram-sha-512", username: "u", password: "p" });
    expect(s.client.ssl).toMatchObject({ rejectUnauthorized: true });
    const plain = settings({ brokers: "k:9092", authType: "password", saslUsername: "u", saslPassword: "p", disableTls: "true" });
    expect(plain.client.sasl).toMatchObject({ mechanism: "plain" });
    expect(plain.client.ssl).toBeUndefined();
    expect(settings({ brokers: "k:9092", authType: "password", saslUsername: "u", saslPassword: "p", saslMechanism: "scram-sha-256" }).client.sasl).toMatchObject({
      mechanism: "scram-sha-256",
    });
    expect(problems({ brokers: "k:9092", authType: "password" })).toEqual([
      `metadata field 'saslUsername' is required with authType "password"`,
      `metadata field 'saslPassword' is required with authType "password"`,
    ]);
    // The mechanism's values are kafka.cap's oneOf, refused by the generated parser.
    expect(() => settings({ brokers: "k:9092", authType: "password", saslMechanism: "MD5" })).toThrow(
      `metadata field 'saslMechanism' must be one of "PLAINTEXT", "PLAIN", "SHA-256", "SCRAM-SHA-256", "SHA-512", "SCRAM-SHA-512", not "MD5"`,
    );
  });

  it("reads TLS certificates for mtls and certificate, and never uses TLS with authType none", () => {
    const pem = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----";
    const mtls = settings({ brokers: "k:9093", authType: "mtls", clientCert: pem, clientKey: "key", caCert: pem, skipVerify: true });
    expect(mtls.client.ssl).toMatchObject({ cert: pem, key: "key", ca: [pem], rejectUnauthorized: false });
    expect(settings({ brokers: "k:9093", authType: "certificate", caCert: pem }).client.ssl).toMatchObject({ ca: [pem] });
    expect(settings({ brokers: "k:9092", caCert: pem }).client.ssl).toBeUndefined();
    // What each authType requires is kafka.cap's requiredWhen, checked by the generated parser (blank is not given)...
    expect(problems({ brokers: "k:9093", authType: "mtls", clientCert: "  ", disableTls: true })).toEqual([
      `metadata field 'clientCert' is required with authType "mtls"`,
      `metadata field 'clientKey' is required with authType "mtls"`,
    ]);
    expect(problems({ brokers: "k:9093", authType: "certificate" })).toEqual([`metadata field 'caCert' is required with authType "certificate"`]);
    // ...and what the adapter reads itself comes after.
    expect(problems({ brokers: "k:9093", authType: "mtls", clientCert: pem, clientKey: "key", disableTls: true })).toEqual([
      `metadata field 'disableTls' cannot be true with authType "mtls"`,
    ]);
    expect(() => settings({ brokers: "k:9093", authType: "oidc" })).toThrow(
      `metadata field 'authType' must be one of "none", "password", "mtls", "certificate", not "oidc"`,
    );
    expect(settings({ brokers: "k:9093", authType: " MTLS ", clientCert: pem, clientKey: "key" }).client.ssl).toMatchObject({ cert: pem });
  });

  it("fails to start with UNAVAILABLE naming the brokers when none answers", async () => {
    const port = await freePort();
    const started = Date.now();
    const error = await kafkaPubsubAdapter.create({ brokers: `127.0.0.1:${port}` }, context()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ComponentError);
    expect((error as ComponentError).status).toBe("UNAVAILABLE");
    expect((error as ComponentError).message).toContain(`kafka at 127.0.0.1:${port} is unavailable`);
    expect(Date.now() - started).toBeLessThan(15_000);
  }, 20_000);
});

