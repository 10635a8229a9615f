import { existsSync } from "node:fs";
import { join } from "node:path";
import { Worker } from "node:worker_threads";
import type { Count } from "./metric-families";
import { OtlpJsonRequests } from "./otlp-json";
import type { ExportWorkerAnswer, ExportWorkerRequest, ExportWorkerSettings, SpanRecord } from "./span-records";

/** The export worker's script: next to this file in tsc's output, under observability/ beside the bundle, or built from the sources. */
function exportWorkerScript(): string {
  const candidates = [join(__dirname, "span-export-worker.js"), join(__dirname, "observability", "span-export-worker.js")];
  return candidates.find((file) => existsSync(file)) ?? join(__dirname, "..", "..", "dist", "observability", "span-export-worker.js");
}

/** Why spans were not exported (the reason label of ottavo_tracing_spans_dropped_total). */
export type SpanDropReason = "queue_full" | "export_failed" | "exporter_down";

/** What the queue counts; the runtime's metrics show them when metrics are on. */
export interface SpanExportCounters {
  /** Spans the OTLP endpoint accepted. */
  readonly exported: Count;
  readonly dropped: Readonly<Record<SpanDropReason, Count>>;
  /** Times the export worker failed or ended by itself. */
  readonly workerFailures: Count;
}

/** Counters kept by the queue alone (metrics off). */
export function plainSpanExportCounters(): SpanExportCounters {
  return { exported: { value: 0 }, dropped: { queue_full: { value: 0 }, export_failed: { value: 0 }, exporter_down: { value: 0 } }, workerFailures: { value: 0 } };
}

export interface SpanExportQueueOptions {
  readonly settings: ExportWorkerSettings;
  /** The resource's attributes (service.name, service.version) and the instrumentation scope of every span. */
  readonly resource: Readonly<Record<string, string>>;
  readonly scope: { readonly name: string; readonly version: string };
  /** How long a span waits at most for others to be posted with it. */
  readonly exportIntervalMs: number;
  /** Spans waiting to be posted, at most; more are dropped and counted (the SDK's BatchSpanProcessor keeps 2,048). */
  readonly maxQueueSize?: number;
  /**
   * Spans posted at once, at most: 2,048, the queue's bound (the SDK's
   * BatchSpanProcessor exports 512 at a time). An export costs the process
   * ≈ 10 ms of CPU whatever its size (the worker's HTTP request and its
   * isolate's work, measured with 512 spans and 2,048), so fewer, larger
   * exports cost less: a batch of 2,048 spans is ≈ 1.3 MB of JSON.
   */
  readonly maxBatchSize?: number;
  readonly counters: SpanExportCounters;
  /** Where the queue warns (an export that failed, the worker lost), once until things work again. */
  readonly warn: (line: string) => void;
  /** The worker's script; the built span-export-worker.js by default. */
  readonly workerScript?: string;
  /**
   * How long the worker may leave a request unanswered before it is taken for
   * stuck (ended, counted and said like a failure): the exporter's own timeout
   * (10 s unless settings.timeoutMillis says) and 5 s more by default.
   */
  readonly answerTimeoutMs?: number;
}

/**
 * The spans the main thread recorded, on their way to the export worker
 * (span-export-worker.ts), which runs OpenTelemetry's OTLP/HTTP export in a
 * thread of its own. Spans wait in a bounded queue and are posted in batches,
 * each as its OTLP/JSON export request (otlp-json.ts): when a batch is full, else
 * after the export interval; one batch is exported at a time, and while it is,
 * the queue fills (a span that finds it full is dropped and counted, as the
 * SDK's BatchSpanProcessor drops). The worker starts with the first batch, or
 * before with startWorker().
 *
 * The worker never holds the process open, except while shutdown() hands it the
 * last spans. If it fails, ends by itself or leaves a request unanswered past
 * answerTimeoutMs, tracing degrades: spans are dropped and counted
 * (exporter_down), the failure is counted and logged once, and the runtime
 * serves on; a shutdown never waits longer than that for it.
 */
export class SpanExportQueue {
  private queue: SpanRecord[] = [];
  private readonly maxQueueSize: number;
  private readonly maxBatchSize: number;
  private worker: Worker | undefined;
  private state: "open" | "failed" | "stopping" | "stopped" = "open";
  private timer: NodeJS.Timeout | undefined;
  private nextId = 0;
  /** Requests the worker has not answered: the number of spans of each export (0 for the shutdown). */
  private readonly pending = new Map<number, { readonly spans: number; readonly answered?: (answer: ExportWorkerAnswer) => void }>();
  private flushing = 0;
  private idle: (() => void)[] = [];
  private exportFailureReported = false;
  /** Set by shutdown(): the worker holds the process open until it answered. */
  private holding = false;
  /** Runs out when the worker leaves its oldest unanswered request unanswered for too long. */
  private watchdog: NodeJS.Timeout | undefined;
  private readonly answerTimeoutMs: number;
  /** Why the worker failed, once it has. */
  private failure: string | undefined;
  private readonly requests: OtlpJsonRequests;

  constructor(private readonly options: SpanExportQueueOptions) {
    this.maxQueueSize = options.maxQueueSize ?? 2048;
    this.answerTimeoutMs = options.answerTimeoutMs ?? (options.settings.timeoutMillis ?? 10_000) + 5_000;
    this.maxBatchSize = Math.min(options.maxBatchSize ?? 2048, this.maxQueueSize);
    this.requests = new OtlpJsonRequests(options.resource, options.scope);
  }

  /** Spans waiting to be posted. */
  get queued(): number {
    return this.queue.length;
  }

  /** Takes a finished span; drops it (counted) when the queue is full or the exporter is gone. */
  add(span: SpanRecord): void {
    if (this.state === "failed" || this.state === "stopped") {
      this.options.counters.dropped.exporter_down.value++;
      return;
    }
    if (this.queue.length >= this.maxQueueSize) {
      this.options.counters.dropped.queue_full.value++;
      return;
    }
    this.queue.push(span);
    if (this.queue.length >= this.maxBatchSize) this.post();
    else if (this.timer === undefined && this.exporting === 0) this.timer = setTimeout(() => this.onTimer(), this.options.exportIntervalMs).unref();
  }

  /**
   * Starts the export worker now instead of with the first batch: the runtime
   * does at its start, so that the worker's own start (≈ 100 ms of CPU, its
   * thread's and V8's) is not paid while calls are served.
   */
  startWorker(): void {
    if (this.state !== "open") return;
    try {
      this.start();
    } catch (error) {
      this.fail(error);
    }
  }

  /** Posts every queued span and resolves once the worker answered for all of them (or is gone). */
  async flush(): Promise<void> {
    this.flushing++;
    try {
      this.post();
      if (this.queue.length === 0 && this.exporting === 0) return;
      await new Promise<void>((resolve) => this.idle.push(resolve));
    } finally {
      this.flushing--;
    }
  }

  /**
   * Exports what is queued, shuts the worker's exporter down (it sends what it
   * still holds) and ends the worker. The process stays up meanwhile. Rejects
   * when spans could not be sent.
   */
  async shutdown(): Promise<void> {
    if (this.state === "stopped" || this.state === "stopping") return;
    this.holding = true;
    this.worker?.ref();
    const lost = () => this.options.counters.dropped.export_failed.value + this.options.counters.dropped.exporter_down.value;
    const lostBefore = lost();
    await this.flush();
    if (this.state === "failed") {
      this.state = "stopped";
      throw new Error(`the trace export worker had failed (${this.failure})`);
    }
    this.state = "stopping";
    clearTimeout(this.timer);
    const worker = this.worker;
    if (worker === undefined) {
      this.state = "stopped";
      return;
    }
    const answer = await new Promise<ExportWorkerAnswer>((resolve) => this.request(worker, () => ({ kind: "shutdown", id: 0 }), 0, resolve));
    this.state = "stopped";
    this.worker = undefined;
    await worker.terminate();
    if (!answer.ok) throw new Error(answer.error);
    if (lost() > lostBefore) throw new Error(`${lost() - lostBefore} span(s) could not be exported`);
  }

  /** Batches being exported now. */
  private get exporting(): number {
    return this.pending.size;
  }

  private onTimer(): void {
    this.timer = undefined;
    this.post();
  }

  /** Posts the next batch when none is being exported (all of them, one after the other, while flushing). */
  private post(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.queue.length === 0 || this.exporting > 0 || this.state !== "open") return;
    let batch: SpanRecord[];
    if (this.queue.length <= this.maxBatchSize) {
      batch = this.queue;
      this.queue = [];
    } else batch = this.queue.splice(0, this.maxBatchSize);
    let worker: Worker;
    try {
      worker = this.start();
    } catch (error) {
      this.options.counters.dropped.exporter_down.value += batch.length;
      this.fail(error);
      return;
    }
    this.request(worker, () => ({ kind: "export", id: 0, body: this.requests.request(batch), spans: batch.length }), batch.length);
  }

  /** Makes the request (an export's is written here, in the main thread) and posts it. */
  private request(worker: Worker, make: () => ExportWorkerRequest, spans: number, answered?: (answer: ExportWorkerAnswer) => void): void {
    const id = ++this.nextId;
    this.pending.set(id, { spans, ...(answered !== undefined ? { answered } : {}) });
    this.watch();
    try {
      worker.postMessage({ ...make(), id });
    } catch (error) {
      // A request that cannot be written or copied (a span whose times are not numbers, a string beyond
      // V8's length limit; none of the runtime's): the batch is lost, as the SDK's exporter would lose it; the worker is fine.
      this.answer({ id, ok: false, error: error instanceof Error ? error.message : String(error) });
    }
  }

  private start(): Worker {
    if (this.worker !== undefined) return this.worker;
    const worker = new Worker(this.options.workerScript ?? exportWorkerScript(), { workerData: this.options.settings });
    worker.on("message", (answer: ExportWorkerAnswer) => this.answer(answer));
    worker.on("error", (error) => {
      if (this.worker === worker) this.fail(error);
    });
    worker.on("exit", (code) => {
      if (this.worker === worker) this.fail(new Error(`it ended with exit code ${code}`));
    });
    // After the listeners: adding a message listener refs the worker again.
    if (!this.holding) worker.unref();
    this.worker = worker;
    return worker;
  }

  private answer(answer: ExportWorkerAnswer): void {
    const request = this.pending.get(answer.id);
    if (request === undefined) return;
    this.pending.delete(answer.id);
    this.watch();
    if (request.answered !== undefined) request.answered(answer);
    else if (answer.ok) {
      this.options.counters.exported.value += request.spans;
      this.exportFailureReported = false;
    } else {
      this.options.counters.dropped.export_failed.value += request.spans;
      if (!this.exportFailureReported) {
        this.exportFailureReported = true;
        this.options.warn(
          `ottavo: warning: ${request.spans} span(s) could not be exported to ${this.options.settings.url} (${answer.error}); ` +
            `counted in ottavo_tracing_spans_dropped_total{reason="export_failed"}`,
        );
      }
    }
    if (this.queue.length > 0 && (this.flushing > 0 || this.queue.length >= this.maxBatchSize)) this.post();
    else if (this.queue.length > 0 && this.timer === undefined) this.timer = setTimeout(() => this.onTimer(), this.options.exportIntervalMs).unref();
    this.settleIfIdle();
  }

  /** Restarts the watchdog while requests wait for an answer (one answer at a time is expected of the worker). */
  private watch(): void {
    clearTimeout(this.watchdog);
    this.watchdog = this.pending.size === 0 ? undefined : setTimeout(() => this.stalled(), this.answerTimeoutMs).unref();
  }

  /** The worker answered nothing for too long: it is ended and counted as failed. */
  private stalled(): void {
    const worker = this.worker;
    this.fail(new Error(`it answered nothing for ${this.answerTimeoutMs} ms`));
    void worker?.terminate();
  }

  /** The worker failed, ended by itself or stalled: what it held and what is queued is dropped, and so is every later span. */
  private fail(error: unknown): void {
    if (this.state === "failed" || this.state === "stopped") return;
    const stopping = this.state === "stopping";
    const reason = error instanceof Error ? error.message : String(error);
    this.state = "failed";
    this.failure = reason;
    this.worker = undefined;
    clearTimeout(this.timer);
    this.timer = undefined;
    clearTimeout(this.watchdog);
    this.watchdog = undefined;
    this.options.counters.workerFailures.value++;
    let lost = this.queue.length;
    this.queue = [];
    const pending = [...this.pending];
    this.pending.clear();
    for (const [id, request] of pending) {
      lost += request.spans;
      request.answered?.({ id, ok: false, error: `the trace export worker failed (${reason})` });
    }
    this.options.counters.dropped.exporter_down.value += lost;
    if (!stopping) {
      this.options.warn(
        `ottavo: warning: the trace export worker failed (${reason}); ` +
          `spans are no longer exported (counted in ottavo_tracing_spans_dropped_total{reason="exporter_down"}); calls are served as before`,
      );
    }
    this.settleIfIdle();
  }

  private settleIfIdle(): void {
    if (this.exporting > 0 || (this.queue.length > 0 && this.state === "open")) return;
    const idle = this.idle;
    this.idle = [];
    for (const resolve of idle) resolve();
  }
}
