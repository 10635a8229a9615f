import type * as CockatielModule from "cockatiel";
import type * as Etcd3Module from "etcd3";

/**
 * etcd3 (with grpc-js and protobufjs beneath it), loaded on first use: a runtime
 * with no etcd component does not pay for it at start (a third of the start-up
 * time and about 10 MB of idle memory).
 */
export function etcd3(): typeof Etcd3Module {
  return require("etcd3") as typeof Etcd3Module;
}

/** cockatiel, whose policies etcd3 takes; loaded with etcd3. */
export function cockatiel(): typeof CockatielModule {
  return require("cockatiel") as typeof CockatielModule;
}
