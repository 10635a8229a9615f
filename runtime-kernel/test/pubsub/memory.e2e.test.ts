/** Pub/sub end to end on the embedded in-memory pubsub (not durable: no restart cases). */
import { describeDelivery } from "./delivery-suite";

jest.setTimeout(30_000);

describeDelivery({
  type: "in-memory",
  metadata: () => ({ redeliveryBackoff: "50ms", maxRedeliveryBackoff: "200ms" }),
  durable: false,
});
