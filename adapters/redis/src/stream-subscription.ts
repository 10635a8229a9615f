import type { Subscription } from "@ottavo/component-runtime";
import type { DeliveryResult, MessageHandler } from "@ottavo/generated/components/pubsub";
import type { Redis } from "ioredis";
import { ScanSchedule } from "./scan-schedule";
import { isReplyError } from "./stream-group";
import { readReply, topicMessage, type StreamEntry } from "./stream-entry";
import { reclaim, touch, type DeadLetter, type ReclaimOutcome, type StreamGroup } from "./stream-scripts";
import { failurePauseMs, PERIODIC_SCAN_MS, READ_BLOCK_MS, type StreamTiming } from "./stream-timing";

/** What a subscription needs from its component. */
export interface StreamSubscriptionOptions {
  /** The stream, group and this process's consumer name. */
  readonly at: StreamGroup;
  /** The topic messages are delivered as (the stream's name). */
  readonly topic: string;
  /** The component's shared client: acknowledgements, scans, claims, touches. */
  readonly client: Redis;
  /** A connection of this subscription's own, for the blocking XREADGROUP; disconnected on close. */
  readonly reader: Redis;
  readonly handler: MessageHandler;
  readonly timing: StreamTiming;
  /** Messages handed to the handler at once. */
  readonly concurrency: number;
  /** Where messages go after maxDeliveries, when the subscription names a dead-letter topic. */
  readonly deadLetter: DeadLetter | undefined;
  /**
   * Ids held by any subscription of the component to the same stream and group,
   * shared: a scan never claims a message a sibling is handling.
   */
  readonly heldByComponent: Set<string>;
  /** Recreates the group when it has gone (Redis lost its data, or someone deleted it). */
  readonly ensureGroup: () => Promise<void>;
  /** How long close() waits for deliveries under way to settle before it returns. */
  readonly closeGraceMs: number;
}

/** A message this subscription holds: queued for its handler or being handled. */
interface Held {
  readonly entry: StreamEntry;
  readonly deliveries: number;
}

/**
 * One subscription to a stream through a consumer group. Three loops feed one
 * bounded set of held messages:
 * - reading: XREADGROUP ">" (never-delivered messages) on the subscription's own
 *   blocking connection, for as many messages as there are free slots;
 * - scanning: XPENDING for messages idle past their backoff (left by a failed
 *   delivery here or anywhere in the group, or by a runtime that stopped), claimed
 *   or dead-lettered by the reclaim script;
 * - touching: messages held here are touched every heartbeat, so no scan (here or
 *   in another runtime) takes them while their handler works.
 * At most `concurrency` handlers run at once; messages beyond wait in a queue.
 */
export class StreamSubscription implements Subscription {
  private readonly held = new Map<string, Held>();
  private readonly queue: Held[] = [];
  private readonly running = new Set<Promise<void>>();
  private closed = false;
  private readLoop: Promise<void> | undefined;
  private slotWaiter: (() => void) | undefined;
  private pauseWaiter: { timer: NodeJS.Timeout; resolve: () => void } | undefined;
  private readonly scans = new ScanSchedule(() => this.scan(), PERIODIC_SCAN_MS);
  /** No scan has run yet: the first reads the whole pending list (see dueMessages). */
  private firstScan = true;
  /** A scan found messages due but no free slot: scan again when one frees. */
  private scanWhenFree = false;
  private readonly heartbeat: NodeJS.Timeout;
  private touching = false;

  constructor(private readonly options: StreamSubscriptionOptions) {
    this.heartbeat = setInterval(() => void this.touchHeld(), options.timing.heartbeatMs);
    this.heartbeat.unref();
  }

  /** Starts reading, and scans at once for messages left pending (by a runtime that stopped, say). */
  start(): void {
    this.readLoop = this.read();
    this.scans.start();
  }

  /**
   * Stops reading and scanning and disconnects the reading connection. Deliveries
   * under way may settle (and be acknowledged) for closeGraceMs; whatever is not
   * acknowledged by then stays pending in Redis and is delivered again.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.scans.stop();
    this.wake();
    this.options.reader.disconnect();
    for (const queued of this.queue.splice(0)) this.release(queued.entry.id);
    await this.readLoop;
    await settledWithin([...this.running], this.options.closeGraceMs);
    clearInterval(this.heartbeat);
  }

  private async read(): Promise<void> {
    const { at, reader, concurrency } = this.options;
    let failures = 0;
    while (!this.closed) {
      const free = concurrency - this.held.size;
      if (free <= 0) {
        await new Promise<void>((resolve) => (this.slotWaiter = resolve));
        continue;
      }
      let reply: unknown;
      try {
        reply = await reader.callBuffer(
          "XREADGROUP", "GROUP", at.group, at.consumer, "COUNT", free, "BLOCK", READ_BLOCK_MS, "STREAMS", at.stream, ">",
        );
        failures = 0;
      } catch (error) {
        if (this.closed) return;
        await this.recover(error);
        await this.pause(failurePauseMs(failures++));
        continue;
      }
      // A message read after close stays pending: it is delivered again, here or elsewhere.
      if (this.closed) return;
      for (const entry of readReply(reply)) this.hold(entry, 1);
    }
  }

  /** After a failed read or scan: a vanished group is created again; anything else waits out the pause. */
  private async recover(error: unknown): Promise<void> {
    if (!isReplyError(error, "NOGROUP")) return;
    try {
      await this.options.ensureGroup();
    } catch {
      // Redis is unreachable too: the next read fails and comes back here.
    }
  }

  /** Looks for pending messages due again, and claims or dead-letters them. */
  private async scan(): Promise<void> {
    try {
      const due = await this.dueMessages((waitMs) => this.scans.want(waitMs));
      for (const result of await reclaim(this.options.client, this.options.at, this.options.deadLetter, due)) {
        this.settleReclaimed(result);
      }
    } catch (error) {
      await this.recover(error);
    }
  }

  /**
   * The pending messages of the group due again, up to the free slots (dead letters
   * need none), reading at most 1,000 entries of the pending list per scan; tells
   * `notYet` how long until each other one is due. The list is read from two
   * heartbeats of idleness: what a live subscription holds is left out, what a
   * failed delivery left is in even if it became idle a little later than planned.
   * The first scan reads it all, so messages a stopped runtime held moments ago
   * are claimed when due, not at the next periodic scan.
   */
  private async dueMessages(notYet: (waitMs: number) => void): Promise<{ id: string; minIdleMs: number }[]> {
    const { client, at, timing, deadLetter, heldByComponent } = this.options;
    const due: { id: string; minIdleMs: number }[] = [];
    let room = this.options.concurrency - this.held.size;
    const minIdle = this.firstScan ? 0 : 2 * timing.heartbeatMs;
    this.firstScan = false;
    let start = "-";
    for (let page = 0; page < 10; page++) {
      const pending = await client.xpending(at.stream, at.group, "IDLE", minIdle, start, "+", 100);
      for (const item of pending) {
        if (!Array.isArray(item)) continue;
        const [id, , idle, deliveries] = item as [string, string, number, number];
        start = `(${id}`;
        if (heldByComponent.has(id)) continue;
        const backoff = timing.backoffMs(deliveries);
        if (idle < backoff) {
          notYet(backoff - idle);
          continue;
        }
        const deadLettered = deadLetter !== undefined && deadLetter.maxDeliveries > 0 && deliveries >= deadLetter.maxDeliveries;
        if (!deadLettered) {
          if (room <= 0) {
            this.scanWhenFree = true;
            continue;
          }
          room--;
        }
        due.push({ id, minIdleMs: backoff });
      }
      if (pending.length < 100) break;
    }
    return due;
  }

  private settleReclaimed(result: ReclaimOutcome): void {
    if (result.kind === "claimed" && !this.closed) this.hold(result.entry, result.deliveries);
    // A message claimed after close stays pending under this consumer: delivered again later.
  }

  private hold(entry: StreamEntry, deliveries: number): void {
    if (this.held.has(entry.id)) return;
    const held: Held = { entry, deliveries };
    this.held.set(entry.id, held);
    this.options.heldByComponent.add(entry.id);
    this.queue.push(held);
    this.pump();
  }

  private release(id: string): void {
    this.held.delete(id);
    this.options.heldByComponent.delete(id);
    this.wake();
    if (this.scanWhenFree) {
      this.scanWhenFree = false;
      this.scans.want(0);
    }
  }

  /** Starts deliveries while slots are free. */
  private pump(): void {
    while (!this.closed && this.running.size < this.options.concurrency && this.queue.length > 0) {
      const next = this.queue.shift()!;
      const delivery = this.deliver(next).finally(() => {
        this.running.delete(delivery);
        this.pump();
      });
      this.running.add(delivery);
    }
  }

  private async deliver(held: Held): Promise<void> {
    const { handler, topic, client, at, deadLetter, timing } = this.options;
    const { id } = held.entry;
    let result: DeliveryResult | undefined;
    try {
      result = await handler(topicMessage(topic, held.entry, held.deliveries));
    } catch {
      // A throwing handler is a RETRY: the message stays pending.
    }
    try {
      if (result === "SUCCESS" || result === "DROP") {
        await client.xack(at.stream, at.group, id);
      } else if (deadLetter !== undefined && deadLetter.maxDeliveries > 0 && held.deliveries >= deadLetter.maxDeliveries) {
        for (const outcome of await reclaim(client, at, deadLetter, [{ id, minIdleMs: 0 }])) this.settleReclaimed(outcome);
      } else {
        // Backoff counts from now, not from when the message was read.
        await touch(client, at, [id]);
        this.scans.want(timing.backoffMs(held.deliveries));
      }
    } catch {
      // Redis is unreachable: the message stays pending and a later scan delivers it again.
      this.scans.want(timing.backoffMs(held.deliveries));
    } finally {
      this.release(id);
    }
  }

  /** Keeps every held message from looking idle; one touch at a time. */
  private async touchHeld(): Promise<void> {
    if (this.touching || this.held.size === 0) return;
    this.touching = true;
    try {
      await touch(this.options.client, this.options.at, [...this.held.keys()]);
    } catch {
      // Unreachable: the next heartbeat tries again; meanwhile another runtime may take over.
    } finally {
      this.touching = false;
    }
  }

  /** A slot was freed or the subscription closed: the reader may go on, a pause ends. */
  private wake(): void {
    const waiter = this.slotWaiter;
    this.slotWaiter = undefined;
    waiter?.();
    if (this.closed && this.pauseWaiter !== undefined) {
      clearTimeout(this.pauseWaiter.timer);
      this.pauseWaiter.resolve();
      this.pauseWaiter = undefined;
    }
  }

  /** Waits ms, or less when the subscription closes. */
  private pause(ms: number): Promise<void> {
    if (this.closed) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.pauseWaiter = undefined;
        resolve();
      }, ms);
      this.pauseWaiter = { timer, resolve };
    });
  }
}

/** Resolves when every promise settled, or after ms, whichever is first. */
async function settledWithin(promises: readonly Promise<unknown>[], ms: number): Promise<void> {
  if (promises.length === 0) return;
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    Promise.allSettled(promises),
    new Promise((resolve) => {
      timer = setTimeout(resolve, ms);
    }),
  ]);
  clearTimeout(timer);
}
