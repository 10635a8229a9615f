/**
 * A Layotto config.json as its demos write it: one server whose "grpc" listener
 * (on a free loopback port) carries the runtime's grpc_config, and the actuator
 * listener. Tests that configure components the Layotto way give only grpc_config.
 */
export function layottoConfigJson(grpcConfig: object): string {
  return JSON.stringify({
    servers: [
      {
        listeners: [
          {
            name: "grpc",
            address: "127.0.0.1:0",
            filter_chains: [{ filters: [{ type: "grpc", config: { server_name: "runtime", grpc_config: grpcConfig } }] }],
          },
          { name: "actuator", address: "127.0.0.1:0" },
        ],
      },
    ],
  });
}
