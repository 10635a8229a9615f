/**
 * Layotto's own config.json names the app's callback port as
 * grpc_config.app.grpc_callback_port: a Layotto user's file, unmodified, gets
 * events delivered to the app.
 */
import { Client } from "layotto";
import { startRuntime } from "@ottavo/test-support";
import { startLayottoApp } from "./layotto-app";
import { eventually, freePort } from "./support";

jest.setTimeout(30_000);

function layottoConfig(callbackPort: number): string {
  const grpc = {
    type: "grpc",
    config: {
      server_name: "runtime",
      grpc_config: {
        pub_subs: { pub_subs_demo: { type: "in-memory", metadata: {} } },
        app: { app_id: "app1", grpc_callback_port: callbackPort },
      },
    },
  };
  return JSON.stringify({
    servers: [
      {
        default_log_path: "stdout",
        listeners: [
          { name: "grpc", address: "127.0.0.1:0", bind_port: true, filter_chains: [{ filters: [grpc] }] },
          {
            name: "actuator",
            address: "127.0.0.1:0",
            bind_port: true,
            filter_chains: [{ filters: [{ type: "proxy", config: { downstream_protocol: "Http1", router_config_name: "actuator_dont_need_router" } }] }],
          },
        ],
      },
    ],
  });
}

it("delivers to the app on grpc_callback_port", async () => {
  const port = await freePort();
  const got: unknown[] = [];
  const app = await startLayottoApp(port, [{ pubsubName: "pub_subs_demo", topic: "topic1", handler: async (data) => void got.push(data) }]);
  const runtime = await startRuntime({ config: layottoConfig(port) });
  try {
    await runtime.waitForStdout("ottavo: subscribed the app to topic 'topic1' of pubsub 'pub_subs_demo'");
    const client = new Client(String(runtime.apiPort), "127.0.0.1");
    await client.pubsub.publish({ pubsubName: "pub_subs_demo", topic: "topic1", data: { value: "bar, from js-sdk" } });
    client.close();
    await eventually(() => expect(got).toEqual([{ value: "bar, from js-sdk" }]));
  } finally {
    expect(await runtime.stop()).toBe(0);
    await app.close();
  }
});
