export { startRedis, type RedisServer, type RedisServerOptions } from "./redis-server";
export * from "./runtime-process";
