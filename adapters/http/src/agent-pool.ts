/**
 * The binding's own keep-alive connections: one agent per protocol, so that
 * closing the binding ends its connections and no one else's.
 */
import * as http from "node:http";
import * as https from "node:https";

/** Keep-alive connection pools, one per protocol, made on first use and destroyed by destroy(). */
export class AgentPool {
  private readonly agents = new Map<string, http.Agent>();

  /** The agent for "http:" or "https:". */
  get(protocol: string): http.Agent {
    let agent = this.agents.get(protocol);
    if (agent === undefined) {
      // The options of Node's global agents: idle connections are dropped after 5 s (sooner if the server says so).
      const options = { keepAlive: true, scheduling: "lifo", timeout: 5000 } as const;
      agent = protocol === "https:" ? new https.Agent(options) : new http.Agent(options);
      this.agents.set(protocol, agent);
    }
    return agent;
  }

  /** Destroys every agent and its connections; a later get() makes a new one. */
  destroy(): void {
    for (const agent of this.agents.values()) agent.destroy();
    this.agents.clear();
  }
}
