/**
 * Counters, gauges and histograms kept as plain numbers per label set, and
 * written in Prometheus's text format when scraped. The hot path only adds to a
 * number it already holds: prom-client hashes the labels on every observe, which
 * measured at 3-10 us per call here, more than a whole in-memory GetState.
 * prom-client still provides the process and Node.js metrics.
 */
export type Labels<N extends string> = Readonly<Record<N, string>>;

abstract class Family<N extends string, S> {
  private readonly series = new Map<string, { labels: string; value: S }>();

  constructor(
    readonly name: string,
    private readonly help: string,
    private readonly type: "counter" | "gauge" | "histogram",
    private readonly labelNames: readonly N[],
  ) {}

  /** The series of these labels, made on first use; callers keep it and update it directly. */
  of(labels: Labels<N>): S {
    const rendered = this.labelNames.map((name) => `${name}="${escape(labels[name])}"`).join(",");
    let entry = this.series.get(rendered);
    if (entry === undefined) {
      entry = { labels: rendered, value: this.create() };
      this.series.set(rendered, entry);
    }
    return entry.value;
  }

  render(lines: string[]): void {
    lines.push(`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} ${this.type}`);
    for (const { labels, value } of this.series.values()) this.write(lines, labels, value);
  }

  protected abstract create(): S;
  protected abstract write(lines: string[], labels: string, value: S): void;
}

export interface Count {
  value: number;
}

/** A counter or a gauge: one number per label set. */
export class ValueFamily<N extends string> extends Family<N, Count> {
  protected create(): Count {
    return { value: 0 };
  }
  protected write(lines: string[], labels: string, count: Count): void {
    lines.push(labels === "" ? `${this.name} ${count.value}` : `${this.name}{${labels}} ${count.value}`);
  }
}

export class Latency {
  count = 0;
  sum = 0;
  /** Observations per bucket (not cumulative); the last one is +Inf. */
  readonly perBucket: Float64Array;

  constructor(private readonly bounds: readonly number[]) {
    this.perBucket = new Float64Array(bounds.length + 1);
  }

  observe(seconds: number): void {
    this.count++;
    this.sum += seconds;
    let i = 0;
    while (i < this.bounds.length && seconds > this.bounds[i]!) i++;
    this.perBucket[i]!++;
  }
}

export class HistogramFamily<N extends string> extends Family<N, Latency> {
  constructor(
    name: string,
    help: string,
    labelNames: readonly N[],
    private readonly bounds: readonly number[],
  ) {
    super(name, help, "histogram", labelNames);
  }
  protected create(): Latency {
    return new Latency(this.bounds);
  }
  protected write(lines: string[], labels: string, latency: Latency): void {
    let cumulative = 0;
    this.bounds.forEach((bound, i) => {
      cumulative += latency.perBucket[i]!;
      lines.push(`${this.name}_bucket{le="${bound}",${labels}} ${cumulative}`);
    });
    lines.push(`${this.name}_bucket{le="+Inf",${labels}} ${latency.count}`);
    lines.push(`${this.name}_sum{${labels}} ${latency.sum}`, `${this.name}_count{${labels}} ${latency.count}`);
  }
}

/** Prometheus's label value escaping: backslash, double quote and newline. */
function escape(value: string): string {
  return value.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
}
