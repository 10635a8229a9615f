/** The part of every component's contract that is not specific to its capability. */
export interface Component<F extends string> {
  /** The optional features this component supports; it must support each one fully. */
  readonly features: ReadonlySet<F>;
  /** Resolves when the backend answers, rejects with the reason when it does not. Feeds readiness. */
  health?(): Promise<void>;
  /** Releases connections and timers. Called once, at shutdown or when start-up fails. */
  close(): Promise<void>;
}

/** An active subscription; close() stops delivery and releases it. */
export interface Subscription {
  close(): Promise<void>;
}
