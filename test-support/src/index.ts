export { startRedis, type RedisServer, type RedisServerOptions } from "./redis-server";
export * from "./runtime-process";
export { startKafka, type KafkaBroker, type KafkaBrokerOptions } from "./kafka-broker";
export { eventually } from "./eventually";
export { Pushable } from "./pushable";
export { goTool, goToolsDir, type GoTool } from "./go-tools";
export { openFdCount, rssBytes, tcpStatesOfPort } from "./process-stats";
export { startEtcd, type EtcdServer } from "./etcd-server";
export { buildAssemblyScriptGuest, buildGoGuest, buildWatGuest, guestCacheDir } from "./wasm-guests";
