/** One function as configured (Ottavo YAML `functions`, Layotto's `Layotto` stream filter, or the actuator). */
export interface FunctionSpec {
  /** The function's name; also its id unless the module reports another (proxy_get_id). */
  readonly name: string;
  /** The .wasm file, absolute or relative to the config file's folder. */
  readonly path: string;
  /** How many instances serve it; each runs one invocation at a time. */
  readonly instances: number;
  /** Memory cap in 64 KiB pages. */
  readonly maxMemoryPages: number;
  /** CPU time one invocation may spend in the guest. */
  readonly cpuLimitMs: number;
  /** Largest request or response that may cross the boundary. */
  readonly bufferCapBytes: number;
  /** The components the function may call, by name; undefined grants every component (as Layotto). */
  readonly components?: readonly string[];
  /** Reload the module when its file changes. */
  readonly watch: boolean;
  /** Topics whose events the function receives, as an app's OnTopicEvent would. */
  readonly subscriptions: readonly FunctionSubscription[];
  /**
   * Where its instances run: "worker" (a worker thread each; host calls cross the
   * bridge), "inline" (on the main thread; host calls are answered on the spot, and
   * only components that can answer at once are reachable), "asyncify" (on the main
   * thread, the module rewritten by binaryen's asyncify so that a host call that has
   * to wait suspends the guest until its answer is in), or "auto" (inline when every
   * host call the module imports can be answered at once over the components it is
   * granted, else asyncify, falling back to worker when the module cannot be
   * rewritten; a worker whenever cpuLimitMs is above 1 s).
   */
  readonly execution: FunctionExecution;
}

export type FunctionExecution = "auto" | "inline" | "asyncify" | "worker";

export const functionExecutions: readonly FunctionExecution[] = ["auto", "inline", "asyncify", "worker"];

/** One topic a function subscribes to (Ottavo YAML `subscriptions`, shaped as an app's TopicSubscription). */
export interface FunctionSubscription {
  readonly pubsub: string;
  readonly topic: string;
  /** Where the pubsub moves an event it could not deliver (pubsubs with DEAD_LETTER). */
  readonly deadLetterTopic?: string;
  /** Handed to the pubsub's subscribe, as an app's subscription metadata. */
  readonly metadata: Readonly<Record<string, string>>;
}

export const functionDefaults = {
  instances: 1,
  // 256 pages = 16 MiB; Go's runtime alone reserves a few MiB.
  maxMemoryPages: 1024,
  cpuLimitMs: 1_000,
  bufferCapBytes: 4 * 1024 * 1024,
  watch: false,
  execution: "auto",
} as const;

/** The function port Layotto uses (its `wasm` listener). */
export const defaultFunctionPort = 2045;
