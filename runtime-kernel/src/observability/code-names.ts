import { Code } from "@connectrpc/connect";

/** gRPC's upper-case code names ("OK", "INVALID_ARGUMENT"), as grpc-go and Prometheus exporters label them. */
const codeNames = new Map<Code | undefined, string>([[undefined, "OK"]]);
for (const [name, value] of Object.entries(Code)) {
  if (typeof value === "number") codeNames.set(value, name.replace(/([a-z])([A-Z])/g, "$1_$2").toUpperCase());
}

/** The code's name; undefined is OK. */
export function grpcCodeName(code: Code | undefined): string {
  return codeNames.get(code) ?? String(code);
}
