import type { BridgeAnswer } from "./host-bridge";

/**
 * send()'s status when the host call suspended the guest (a module rewritten by
 * asyncify, on the main thread): the import returns at once, without touching guest
 * memory; the rewind calls it again, and then send() answers.
 */
export const suspendedStatus = -1;

/** call()'s answer when the host call suspended the guest (see suspendedStatus). */
export const suspendedAnswer: BridgeAnswer = Object.freeze({ status: suspendedStatus, body: new Uint8Array(0) });

/**
 * How a guest's host imports reach the runtime: through the bridge from a worker
 * thread (BridgeClient, blocking until the main thread answers), or on the spot from
 * an instance on the main thread (InlineInstance, the synchronous handlers). Either
 * answers at once; the answer's bytes stay readable until the next call.
 */
export interface HostCalls {
  /** The number of a host call ("ottavo.get_state", "proxy.get_state", ...), for send(). */
  opOf(op: string): number;
  /** Sends length bytes of source from `from` as a request of host call op; returns the answer's status (or suspendedStatus). */
  send(op: number, source: Uint8Array, from: number, length: number): number;
  /** The length of the last answer's bytes. */
  readonly answerLength: number;
  /** Copies the last answer's bytes into target at `at`. */
  copyAnswer(target: Uint8Array, at: number): void;
  /** send() for a request of its own; the answer copied out (or suspendedAnswer). */
  call(op: string, request: Uint8Array): BridgeAnswer;
}
