import type { AdapterContext } from "@ottavo/generated/components/adapter";
import type { Component } from "@ottavo/generated/components/component";

/** The context the kernel passes; settings vary per test. */
export function context(settings: Record<string, unknown> = {}): AdapterContext {
  return { componentName: "test_component", appId: "app1", configDir: "/tmp", settings };
}

/** A clock tests move by hand. */
export function manualClock(start = 1_700_000_000_000): { now: () => number; advance(ms: number): void } {
  let t = start;
  return {
    now: () => t,
    advance: (ms) => {
      t += ms;
    },
  };
}

/** Components opened by a test, closed after it so no timer outlives it. */
export function closer(): { track<C extends Component<string>>(component: C): C; closeAll(): Promise<void> } {
  const open: Component<string>[] = [];
  return {
    track(component) {
      open.push(component);
      return component;
    },
    async closeAll() {
      await Promise.all(open.splice(0).map((c) => c.close()));
    },
  };
}

/** Resolves once check() holds, polling every few milliseconds; fails after timeoutMs. */
export async function eventually(check: () => boolean, timeoutMs = 2_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

export const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);
export const text = (data: Uint8Array): string => new TextDecoder().decode(data);
