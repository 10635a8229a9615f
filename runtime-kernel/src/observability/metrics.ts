import type { Code } from "@connectrpc/connect";
import type { Registry } from "prom-client";
import type { CallInfo, CallOutcome, CallStep } from "../server/pipeline";
import { grpcCodeName } from "./code-names";
import { HistogramFamily, ValueFamily, type Count, type Latency } from "./metric-families";
import type { SpanExportCounters } from "./span-export-queue";

/** Latency buckets in seconds: sub-millisecond in-memory calls up to slow backends. */
const latencyBuckets = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];


/**
 * The runtime's Prometheus metrics, served on the actuator at /metrics. Every
 * series is named ottavo_*; process and Node.js metrics (CPU, memory, event loop
 * lag, GC) come from prom-client as ottavo_process_* and ottavo_nodejs_*, counted
 * from the first scrape on.
 */
export class RuntimeMetrics {
  /** prom-client's process and Node.js metrics, loaded on the first scrape: its import costs ~70 ms of CPU at start. */
  private processRegistry: Registry | undefined;

  private readonly requests = new ValueFamily(
    "ottavo_rpc_requests_total",
    "Calls of the API that ended, per rpc, protocol (grpc, grpc-web, connect) and gRPC status code.",
    "counter",
    ["service", "method", "protocol", "code"],
  );
  private readonly latency = new HistogramFamily(
    "ottavo_rpc_duration_seconds",
    "How long calls of the API took, from the handler's start to the last response message, per rpc and protocol.",
    ["service", "method", "protocol"],
    latencyBuckets,
  );
  private readonly inFlight = new ValueFamily("ottavo_rpc_in_flight", "Calls of the API being served now (streams count while open).", "gauge", [
    "service",
    "method",
    "protocol",
  ]);
  private readonly componentLatency = new HistogramFamily(
    "ottavo_component_operation_duration_seconds",
    "How long component operations took (the backend's share of a call), per capability, component and operation.",
    ["capability", "component", "operation"],
    latencyBuckets,
  );
  private readonly componentErrors = new ValueFamily(
    "ottavo_component_operation_errors_total",
    "Component operations that failed, per capability, component and operation.",
    "counter",
    ["capability", "component", "operation"],
  );
  private readonly deliveries = new ValueFamily(
    "ottavo_pubsub_deliveries_total",
    "Events delivered to the app (OnTopicEvent or a SubscribeTopicEvents stream), per pubsub, topic and outcome (SUCCESS, DROP, RETRY: a RETRY is redelivered by the pubsub).",
    "counter",
    ["pubsub", "topic", "outcome"],
  );
  private readonly deliveryLatency = new HistogramFamily(
    "ottavo_pubsub_delivery_duration_seconds",
    "How long the app took to answer one event, per pubsub and topic.",
    ["pubsub", "topic"],
    latencyBuckets,
  );
  private readonly deliveriesInFlight = new ValueFamily(
    "ottavo_pubsub_deliveries_in_flight",
    "Events handed to the app and not answered yet, per pubsub and topic.",
    "gauge",
    ["pubsub", "topic"],
  );
  private readonly redeliveries = new ValueFamily(
    "ottavo_pubsub_redeliveries_total",
    "Deliveries of an event that was delivered before (the pubsub's retries), per pubsub and topic.",
    "counter",
    ["pubsub", "topic"],
  );
  private readonly deadLetters = new ValueFamily(
    "ottavo_pubsub_dead_letters_total",
    "Events that used up maxDeliveries without being settled and so went to their subscription's dead-letter topic, per pubsub, topic and dead-letter topic.",
    "counter",
    ["pubsub", "topic", "dead_letter_topic"],
  );
  private readonly spansExported = new ValueFamily("ottavo_tracing_spans_exported_total", "Spans the OTLP endpoint accepted (tracing on).", "counter", []);
  private readonly spansDropped = new ValueFamily(
    "ottavo_tracing_spans_dropped_total",
    "Sampled spans that were not exported, per reason: queue_full (more spans waiting than the queue holds), export_failed (the OTLP endpoint refused them or could not be reached), exporter_down (the export worker had failed).",
    "counter",
    ["reason"],
  );
  private readonly exportWorkerFailures = new ValueFamily(
    "ottavo_tracing_export_worker_failures_total",
    "Times the worker thread that exports spans failed or ended by itself; tracing then stops exporting and the runtime serves on.",
    "counter",
    [],
  );
  private readonly logLinesDropped = new ValueFamily(
    "ottavo_log_lines_dropped_total",
    "Log lines that may wait (access lines) not written because the log's reader was 4 MB or more behind.",
    "counter",
    [],
  );

  /** Lines the log dropped (its reader fell behind by 4 MB): the sink's count, read when scraped. */
  constructor(private readonly droppedLogLines: () => number = () => 0) {}

  private readonly families = [
    this.requests,
    this.latency,
    this.inFlight,
    this.componentLatency,
    this.componentErrors,
    this.deliveries,
    this.deliveryLatency,
    this.deliveriesInFlight,
    this.redeliveries,
    this.deadLetters,
    this.spansExported,
    this.spansDropped,
    this.exportWorkerFailures,
    this.logLinesDropped,
  ];
  /**
   * Series by service, method and protocol: three lookups by strings that are
   * the same objects on every call (the descriptors' names, the path's protocol),
   * so their hashes are cached and no key is built per call.
   */
  private readonly perRpc = new Map<string, Map<string, Map<string, RpcSeries>>>();

  /**
   * The pipeline step that counts and times every call, on both paths. Its
   * begin hands back the rpc's series itself, whose end takes the pipeline's
   * duration: nothing is made per call.
   */
  readonly rpcStep: CallStep = {
    name: "metrics",
    begin: (call) => {
      const series = this.seriesOf(call);
      series.inFlight.value++;
      return series;
    },
  };

  /** The counters of tracing's span export, as series (made at start, so they show 0 before anything is dropped). */
  spanExportCounters(): SpanExportCounters {
    return {
      exported: this.spansExported.of({}),
      dropped: {
        queue_full: this.spansDropped.of({ reason: "queue_full" }),
        export_failed: this.spansDropped.of({ reason: "export_failed" }),
        exporter_down: this.spansDropped.of({ reason: "exporter_down" }),
      },
      workerFailures: this.exportWorkerFailures.of({}),
    };
  }

  /** Times one component operation: call the answer when it ended, with whether it failed. */
  componentOperation(capability: string, component: string, operation: string): (failed: boolean, seconds: number) => void {
    const labels = { capability, component, operation };
    const latency = this.componentLatency.of(labels);
    const errors = this.componentErrors.of(labels);
    return (failed, seconds) => {
      latency.observe(seconds);
      if (failed) errors.value++;
    };
  }

  /**
   * The same delivery handler, counting and timing each event it is handed. With
   * deadLetter, a RETRY on the maxDeliveries-th delivery is counted as a dead letter.
   */
  deliveryHandler<M extends { readonly deliveryCount: number }, R extends string>(
    pubsub: string,
    topic: string,
    handler: (message: M) => Promise<R>,
    deadLetter?: { readonly deadLetterTopic: string; readonly maxDeliveries: number },
  ): (message: M) => Promise<R> {
    const labels = { pubsub, topic };
    const latency = this.deliveryLatency.of(labels);
    const inFlight = this.deliveriesInFlight.of(labels);
    const redeliveries = this.redeliveries.of(labels);
    const outcomes = new Map<string, Count>(["SUCCESS", "DROP", "RETRY"].map((outcome) => [outcome, this.deliveries.of({ ...labels, outcome })]));
    const deadLetters = deadLetter && this.deadLetters.of({ ...labels, dead_letter_topic: deadLetter.deadLetterTopic });
    return async (message) => {
      const started = performance.now();
      inFlight.value++;
      if (message.deliveryCount > 1) redeliveries.value++;
      let outcome: string = "RETRY";
      try {
        const answer = await handler(message);
        outcome = answer;
        return answer;
      } finally {
        inFlight.value--;
        latency.observe((performance.now() - started) / 1000);
        (outcomes.get(outcome) ?? this.deliveries.of({ ...labels, outcome })).value++;
        if (deadLetters !== undefined && outcome === "RETRY" && message.deliveryCount >= deadLetter!.maxDeliveries) deadLetters.value++;
      }
    };
  }

  /** The text Prometheus scrapes. */
  async exposition(): Promise<{ contentType: string; text: string }> {
    const lines: string[] = [];
    this.logLinesDropped.of({}).value = this.droppedLogLines();
    for (const family of this.families) family.render(lines);
    if (this.processRegistry === undefined) {
      const prom = await import("prom-client");
      this.processRegistry = new prom.Registry();
      prom.collectDefaultMetrics({ register: this.processRegistry, prefix: "ottavo_" });
    }
    const processText = await this.processRegistry.metrics();
    return { contentType: this.processRegistry.contentType, text: `${lines.join("\n")}\n${processText}` };
  }

  private seriesOf(call: CallInfo): RpcSeries {
    let methods = this.perRpc.get(call.service);
    if (methods === undefined) this.perRpc.set(call.service, (methods = new Map()));
    let protocols = methods.get(call.method);
    if (protocols === undefined) methods.set(call.method, (protocols = new Map()));
    let series = protocols.get(call.protocol);
    if (series === undefined) {
      const labels = { service: call.service, method: call.method, protocol: call.protocol };
      series = new RpcSeries(this.latency.of(labels), this.inFlight.of(labels), (code) => this.requests.of({ ...labels, code: grpcCodeName(code) }));
      protocols.set(call.protocol, series);
    }
    return series;
  }
}

/** One rpc's series on one protocol; its end is the metrics step's end of every such call. */
class RpcSeries {
  /** The request counters by gRPC code (OK at 0), made on a code's first call. */
  private readonly byCode: (Count | undefined)[] = [];

  constructor(
    readonly latency: Latency,
    readonly inFlight: Count,
    private readonly countOf: (code: Code | undefined) => Count,
  ) {}

  end(outcome: CallOutcome): void {
    this.inFlight.value--;
    this.latency.observe(outcome.seconds);
    const code = outcome.code ?? 0;
    (this.byCode[code] ??= this.countOf(outcome.code)).value++;
  }
}
