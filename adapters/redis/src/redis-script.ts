import { createHash } from "node:crypto";
import type { ChainableCommander, Command, Redis } from "ioredis";
import { ioredis } from "./ioredis-module";

/** What a script receives after its keys; bytes must be Buffers (ioredis would stringify a plain Uint8Array). */
export type ScriptArgument = string | number | Buffer;

type ScriptMethod = (numberOfKeys: number, ...keysAndArgs: ScriptArgument[]) => unknown;

/** ioredis's command options for replies as Buffers (bytes) or as strings. */
const bufferReplies = { replyEncoding: null };
const stringReplies = { replyEncoding: "utf8" as const };

/** ioredis's Command class, looked up once (ioredis is loaded on first use). */
let commandClass: typeof Command | undefined;

/**
 * A Lua script run by its SHA1 (EVALSHA), sent in full (EVAL) the first time on
 * each connection and again when the server answers NOSCRIPT, for instance after a
 * Redis restart. ioredis's defineCommand does exactly that, also inside pipelines;
 * this class gives it types, since defineCommand adds its methods at run time.
 * `command` makes the EVALSHA (or EVAL) as a plain ioredis command instead, for
 * RedisConnection.script, which sends it without ioredis's per-run wrapping.
 */
export class RedisScript {
  /** The script's SHA1, as EVALSHA and Redis's script cache name it. */
  readonly sha: string;

  constructor(
    /** A method name unique per client; ioredis adds `name` and `nameBuffer`. */
    readonly name: string,
    readonly lua: string,
  ) {
    this.sha = createHash("sha1").update(lua).digest("hex");
  }

  /** Makes the script callable on a client and on its pipelines; call once per client. */
  define(client: Redis): void {
    client.defineCommand(this.name, { lua: this.lua });
  }

  /** Runs the script; bulk string replies come back as strings. */
  run(client: Redis, keys: readonly string[], args: readonly ScriptArgument[]): Promise<unknown> {
    return this.method(client, this.name)(keys.length, ...keys, ...args) as Promise<unknown>;
  }

  /** Runs the script; bulk string replies come back as Buffers (values are bytes). */
  runBuffer(client: Redis, keys: readonly string[], args: readonly ScriptArgument[]): Promise<unknown> {
    return this.method(client, `${this.name}Buffer`)(keys.length, ...keys, ...args) as Promise<unknown>;
  }

  /** Adds a run to a pipeline, with Buffer replies; its result comes from exec(). */
  queueBuffer(pipeline: ChainableCommander, keys: readonly string[], args: readonly ScriptArgument[]): void {
    this.method(pipeline, `${this.name}Buffer`)(keys.length, ...keys, ...args);
  }

  /**
   * One run as an ioredis command, not sent yet: EVALSHA, or EVAL with the whole
   * script (which also caches it) after the server answered NOSCRIPT. Bulk string
   * replies come back as Buffers with `buffers`, else as strings.
   */
  command(kind: "evalsha" | "eval", keys: readonly string[], args: readonly ScriptArgument[], buffers: boolean): Command {
    commandClass ??= ioredis().Command;
    return new commandClass(kind, [kind === "evalsha" ? this.sha : this.lua, keys.length, ...keys, ...args], buffers ? bufferReplies : stringReplies);
  }

  private method(target: Redis | ChainableCommander, name: string): ScriptMethod {
    const method = (target as unknown as Record<string, ScriptMethod | undefined>)[name];
    if (typeof method !== "function") throw new Error(`redis script ${this.name} is not defined on this client`);
    return method.bind(target);
  }
}
