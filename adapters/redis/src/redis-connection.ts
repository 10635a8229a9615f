import { isIP } from "node:net";
import { FailedPreconditionError } from "@ottavo/generated/components/errors";
import type { Command, Redis, RedisOptions } from "ioredis";
import { ioredis } from "./ioredis-module";
import { MetadataError, type CallContext } from "@ottavo/component-runtime";
import { abortable, abortError, throwIfAborted, whenAborted } from "@ottavo/adapter-kit";
import type { RedisConnectionMetadata } from "@ottavo/generated/components/metadata-groups";
import { redisFailure } from "./redis-errors";
import type { RedisScript, ScriptArgument } from "./redis-script";

/** The RedisConnection metadata group of spec/components/adapters/redis.cap, which every Redis adapter's metadata extends. */
export type { RedisConnectionMetadata };

export interface OpenOptions {
  /** The component's name, shown by CLIENT LIST as the connection's name (ottavo:<name>). */
  componentName?: string;
  /**
   * Integer replies as decimal strings: the sequencer needs int64 ids beyond 2^53,
   * which a JavaScript number would round.
   */
  stringNumbers?: boolean;
}

const defaultMaxRetryIntervalMs = 2_000;
const firstRetryIntervalMs = 50;

/**
 * One component's client of one Redis server.
 *
 * The client never queues a command while disconnected (enableOfflineQueue off):
 * a call made while Redis is down fails at once with UNAVAILABLE instead of
 * waiting, and cannot be applied minutes later after the caller gave up. A sent
 * command waits at most readTimeout for its reply, and is never sent twice: one
 * caught by a dropped connection fails at once with UNAVAILABLE, since Redis may
 * or may not have run it (sent again, a write with an etag would answer ABORTED
 * although it succeeded, a tryLock false although the caller holds the lock).
 * The client reconnects by itself with a capped, doubling backoff, so calls
 * succeed again once Redis is back, without recreating the component.
 */
export class RedisConnection {
  private subscriberClient: Redis | undefined;
  private subscriberReady: Promise<Redis> | undefined;
  private closed = false;
  /** The commands script() waits on, oldest first, with when each was sent (performance.now()). */
  private readonly awaited = new Map<Command, number>();
  /** Armed while script() waits on a command, for the oldest one's readTimeout. */
  private awaitedTimer: NodeJS.Timeout | undefined;

  private constructor(
    readonly client: Redis,
    /** host:port, for messages; never carries credentials. */
    readonly endpoint: string,
    private readonly healthTimeoutMs: number,
    /** How long a command may wait for its reply (readTimeout; ioredis's commandTimeout). */
    private readonly readTimeoutMs: number,
  ) {}

  /**
   * Validates the connection metadata (MetadataError listing every problem),
   * connects, and resolves once Redis answers; a failure names host:port and the
   * client is shut down, so a failed start leaves nothing reconnecting behind.
   */
  static async open(metadata: RedisConnectionMetadata, options: OpenOptions = {}): Promise<RedisConnection> {
    const settings = readSettings(metadata);
    const client = new (ioredis().Redis)({
      ...settings.options,
      stringNumbers: options.stringNumbers ?? false,
      ...(options.componentName === undefined ? {} : { connectionName: connectionName(options.componentName) }),
    });
    // Without a listener ioredis prints every reconnection error; failures reach
    // callers through their calls and health() instead. The last one explains a
    // failed start better than connect()'s own "Connection is closed" (a wrong
    // password, say).
    let lastError: unknown;
    client.on("error", (error: unknown) => {
      lastError = error;
    });
    const readTimeoutMs = settings.options.commandTimeout ?? 2_000;
    const connection = new RedisConnection(client, settings.endpoint, Math.min(readTimeoutMs, 2_000), readTimeoutMs);
    try {
      await client.connect();
    } catch (error) {
      client.disconnect();
      throw redisFailure(lastError ?? error, settings.endpoint);
    }
    return connection;
  }

  /**
   * Runs one call against Redis, mapping client errors to UNAVAILABLE or INTERNAL.
   * With the call's context it stops waiting when the call is over for its caller
   * (deadline, cancel, shutdown), however long readTimeout is.
   */
  async call<T>(run: () => Promise<T>, context?: CallContext): Promise<T> {
    try {
      throwIfAborted(context);
      return await abortable(run(), context);
    } catch (error) {
      throw redisFailure(error, this.endpoint);
    }
  }

  /**
   * Runs one Lua script on the shared connection and answers its reply (bulk
   * strings as Buffers with `buffers`): call() for the commonest calls, a state
   * read or write, at less cost per call. It waits the same way, at most
   * readTimeout and no longer than the call's context, but ioredis's per-run
   * wrapping (a script helper, a promise to catch NOSCRIPT) and its timer per
   * command are left out: the commands sent here are timed by one timer for the
   * whole connection (watchAwaited), and NOSCRIPT is handled here. EVALSHA that
   * answers NOSCRIPT did not run, so the EVAL after it is no resend.
   */
  async script(script: RedisScript, keys: readonly string[], args: readonly ScriptArgument[], context: CallContext | undefined, buffers: boolean): Promise<unknown> {
    let command = script.command("evalsha", keys, args, buffers);
    // The call's abort fails the command in flight (its reply, if it still comes, is dropped).
    const stop = context === undefined ? undefined : whenAborted(context, () => command.reject(abortError(context)));
    try {
      if (context !== undefined && stop === undefined) throw abortError(context);
      try {
        return await this.sendAwaited(command);
      } catch (error) {
        if (!(error instanceof Error && error.message.startsWith("NOSCRIPT"))) throw error;
        this.awaited.delete(command);
        command = script.command("eval", keys, args, buffers);
        return await this.sendAwaited(command);
      }
    } catch (error) {
      throw redisFailure(error, this.endpoint);
    } finally {
      stop?.();
      this.awaited.delete(command);
    }
  }

  /**
   * Sends a command now, timed by the connection's watch instead of a timer of its
   * own: ioredis arms one per command when commandTimeout is set, so that option is
   * left out for this one synchronous send (it stays for every other command,
   * ioredis's own handshake included). The caller removes it from `awaited`.
   */
  private sendAwaited(command: Command): Promise<unknown> {
    this.awaited.set(command, performance.now());
    if (this.awaitedTimer === undefined) this.watchAwaited();
    const options = this.client.options;
    const commandTimeout = options.commandTimeout;
    options.commandTimeout = undefined;
    try {
      void this.client.sendCommand(command);
    } finally {
      options.commandTimeout = commandTimeout;
    }
    return command.promise;
  }

  /**
   * Fails the awaited commands sent readTimeout ago or earlier, as ioredis's
   * commandTimeout would ("Command timed out": UNAVAILABLE; a reply that still
   * comes is dropped), then waits for the oldest remaining one's turn, or stops
   * when none is left. At a steady rate it runs about once per readTimeout.
   */
  private watchAwaited(): void {
    this.awaitedTimer = undefined;
    const now = performance.now();
    for (const [command, sentAt] of this.awaited) {
      const due = sentAt + this.readTimeoutMs;
      if (due > now) {
        this.awaitedTimer = setTimeout(() => this.watchAwaited(), Math.ceil(due - now));
        // The socket keeps the process alive while a command is in flight.
        this.awaitedTimer.unref();
        return;
      }
      this.awaited.delete(command);
      command.reject(new Error("Command timed out"));
    }
  }

  /**
   * A second connection in subscriber mode (Redis allows only pub/sub commands on
   * it), made on first use and shared by all the component's subscriptions. It
   * resubscribes by itself after a reconnection.
   */
  subscriber(): Promise<Redis> {
    if (this.closed) {
      return Promise.reject(new FailedPreconditionError(`redis at ${this.endpoint}: the component is closed`));
    }
    if (this.subscriberReady === undefined) {
      const client = this.client.duplicate();
      client.on("error", () => {});
      this.subscriberClient = client;
      // Concurrent first subscriptions share one connection attempt.
      this.subscriberReady = client.connect().then(
        () => client,
        (error: unknown) => {
          client.disconnect();
          this.subscriberClient = undefined;
          this.subscriberReady = undefined;
          throw redisFailure(error, this.endpoint);
        },
      );
    }
    return this.subscriberReady;
  }

  /** Resolves when Redis answers PING within a short time; rejects with UNAVAILABLE otherwise. */
  async health(): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error("Command timed out")), this.healthTimeoutMs);
    });
    try {
      await this.call(() => Promise.race([this.client.ping(), timeout]));
    } finally {
      clearTimeout(timer);
    }
  }

  /** Quits both connections politely, or drops them when Redis does not answer soon. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.awaitedTimer);
    this.awaitedTimer = undefined;
    const clients = [this.client, this.subscriberClient].filter((c): c is Redis => c !== undefined);
    await Promise.all(clients.map((client) => quit(client)));
  }
}

async function quit(client: Redis): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      client.quit(),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error("quit timed out")), 1_000);
      }),
    ]);
  } catch {
    // Down or slow: nothing to flush, so just stop reconnecting.
  } finally {
    clearTimeout(timer);
    client.disconnect();
  }
}

/** CLIENT SETNAME accepts no spaces or newlines; anything unusual becomes "_". */
function connectionName(componentName: string): string {
  return `ottavo:${componentName.replace(/[^A-Za-z0-9._:-]/g, "_")}`;
}

/** Connection metadata checked and turned into ioredis options, every problem reported at once. */
function readSettings(metadata: RedisConnectionMetadata): { endpoint: string; options: RedisOptions } {
  const problems: string[] = [];
  const address = parseAddress(metadata.redisHost, metadata.redisPort, problems);
  // redisType ("node" only), redisDB, the timeouts, redisPort and maxRetryBackoff ranges and
  // the exclusive retry settings are declared in spec/components/adapters/redis.cap and
  // checked by the parser.
  if (problems.length > 0) throw new MetadataError(problems);

  const maxIntervalMs =
    metadata.redisMaxRetryInterval ??
    (metadata.maxRetryBackoff !== undefined ? Math.max(1, Math.round(metadata.maxRetryBackoff / 1e6)) : defaultMaxRetryIntervalMs);
  const options: RedisOptions = {
    host: address.host,
    port: address.port,
    db: metadata.redisDB,
    connectTimeout: Math.ceil(metadata.dialTimeout),
    // ioredis times a command's whole round trip: Dapr's read and write timeouts meet here.
    commandTimeout: Math.ceil(Math.max(metadata.readTimeout, metadata.writeTimeout ?? 0)),
    // Fail commands caught by a dropped connection at the drop, and never resend them.
    maxRetriesPerRequest: 0,
    autoResendUnfulfilledCommands: false,
    enableOfflineQueue: false,
    lazyConnect: true,
    // After disconnect(), a socket that never closes is destroyed after this long;
    // the timer is not unref'd, so ioredis's 2 s would hold a stopping process.
    disconnectTimeout: 500,
    retryStrategy: (attempt) => Math.min(firstRetryIntervalMs * 2 ** Math.min(attempt - 1, 20), maxIntervalMs),
  };
  if (metadata.redisPassword !== undefined && metadata.redisPassword !== "") options.password = metadata.redisPassword;
  if (metadata.redisUsername !== undefined && metadata.redisUsername !== "") options.username = metadata.redisUsername;
  if (metadata.enableTLS) {
    options.tls = {
      rejectUnauthorized: !metadata.insecureSkipTLSVerify,
      ...(isIP(address.host) === 0 ? { servername: address.host } : {}),
    };
  }
  return { endpoint: address.endpoint, options };
}

/**
 * redisHost as Dapr reads it: "host:port", "[v6]:port", or a host alone, which
 * takes redisPort or 6379. A port in both places must agree.
 */
function parseAddress(
  text: string,
  separatePort: number | undefined,
  problems: string[],
): { host: string; port: number; endpoint: string } {
  const trimmed = text.trim();
  // A URL or user:password@host carries credentials: refuse it without echoing it.
  if (trimmed.includes("@") || trimmed.includes("/")) {
    problems.push(
      `metadata field 'redisHost' must be host:port, not a URL or user@host; give the password as 'redisPassword' and the user as 'redisUsername'`,
    );
    return { host: "", port: 0, endpoint: "" }; // unused: the problem stops the start
  }
  let host = trimmed;
  let portText: string | undefined;
  const bracketed = /^\[([^\]]+)\](?::(.*))?$/.exec(trimmed);
  if (bracketed !== null) {
    host = bracketed[1];
    portText = bracketed[2];
  } else if (trimmed.indexOf(":") === trimmed.lastIndexOf(":") && trimmed.includes(":")) {
    host = trimmed.slice(0, trimmed.indexOf(":"));
    portText = trimmed.slice(trimmed.indexOf(":") + 1);
  }
  if (host === "") problems.push(`metadata field 'redisHost' must name a host, as host:port`);
  let port = separatePort ?? 6379;
  if (portText !== undefined) {
    const given = /^\d{1,5}$/.test(portText) ? Number(portText) : NaN;
    if (!(given >= 1 && given <= 65535)) {
      problems.push(`metadata field 'redisHost' must be host:port with a port from 1 to 65535, not ${JSON.stringify(text)}`);
    } else if (separatePort !== undefined && separatePort !== given) {
      problems.push(`metadata field 'redisHost' gives port ${given} but 'redisPort' gives ${separatePort}; give one`);
    } else {
      port = given;
    }
  }
  const endpoint = host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
  return { host, port, endpoint };
}
