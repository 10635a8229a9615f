/** @ottavo/adapter-kit: hand-written helpers adapters share; nothing generated imports it. */
export * from "./serial-delivery";
export * from "./bigger-than";
export * from "./abortable";
