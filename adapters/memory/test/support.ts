import type { AdapterContext, Component } from "@ottavo/component-runtime";

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

export { eventually } from "@ottavo/test-support";

export const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);
export const text = (data: Uint8Array): string => new TextDecoder().decode(data);
