/** Milliseconds since the epoch; stores take one so tests can move time by hand. */
export type Clock = () => number;

export const systemClock: Clock = () => Date.now();
