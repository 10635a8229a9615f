import "./webassembly-api";
import { parentPort, workerData } from "node:worker_threads";
import { BridgeClient, bridgeOps } from "./host-bridge";
import { GuestRunner, brokenOutput } from "./guest-runner";
import type { FromWorker, ToWorker, WorkerSetup } from "./worker-protocol";

/**
 * One function instance, in its own worker thread: the guest (guest-runner.ts) runs
 * here, one invocation at a time. Host calls block this thread on the bridge while
 * the main thread answers them; the main thread may terminate this worker at any
 * time (CPU limit, uninstall).
 */
const port = parentPort!;
const post = (message: FromWorker) => port.postMessage(message);
let guest: GuestRunner | undefined;

port.on("message", (message: ToWorker) => {
  if (message.t === "setup") {
    begin(message.setup);
    return;
  }
  if (message.t !== "invoke" || guest === undefined) return;
  try {
    post({ t: "done", seq: message.seq, output: guest.invoke(message.input), broken: false });
  } catch (error) {
    // A trap or an exit leaves the guest's state unknown: this instance is not used again.
    post({ t: "done", seq: message.seq, output: brokenOutput(error), broken: true });
  }
});

/** Instantiates and starts the function; a spare worker (started before it had a function) gets its setup as a message. */
function begin(setup: WorkerSetup): void {
  const bridge = new BridgeClient(setup.bridge, bridgeOps(setup.ottavoImports));
  const started = new GuestRunner(setup, bridge, (level, line) => post({ t: "log", level, line }));
  try {
    const { abi, functionId } = started.start();
    guest = started;
    post({ t: "ready", abi, functionId });
  } catch (error) {
    post({ t: "failed", error: error instanceof Error ? error.message : String(error) });
  }
}

if (workerData !== null && workerData !== undefined) begin(workerData as WorkerSetup);
// A spare (no setup yet) says it has loaded this script and waits for a function.
else post({ t: "spare" });
