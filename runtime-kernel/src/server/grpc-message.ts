import type * as http from "node:http";

/**
 * gRPC's grpc-message trailer is percent-encoded with its own rule
 * (PROTOCOL-HTTP2.md): only bytes outside printable ASCII (0x20-0x7E) and "%"
 * itself are escaped. Connect-ES escapes with encodeURIComponent, which also
 * escapes ":", ";", ",", "/", "?", "=", "&", "+", "$", "@" and "#"; grpc-js (the
 * Layotto SDK's transport) decodes with decodeURI, which leaves exactly those
 * escaped, so its users read "failed saving state in state store state_demo%3A
 * ..." where Layotto's Go server gives them "...state_demo: ...". Re-encoding
 * with gRPC's own rule reads correctly in every gRPC implementation.
 */
export function grpcPercentEncode(text: string): string {
  let out = "";
  for (const byte of Buffer.from(text, "utf8")) {
    out +=
      byte >= 0x20 && byte <= 0x7e && byte !== 0x25
        ? String.fromCharCode(byte)
        : `%${byte.toString(16).toUpperCase().padStart(2, "0")}`;
  }
  return out;
}

/** The grpc-message as Connect-ES wrote it, re-encoded with gRPC's rule; left alone when it is not valid percent-encoding. */
export function reencodeGrpcMessage(value: string): string {
  try {
    return grpcPercentEncode(decodeURIComponent(value));
  } catch {
    return value;
  }
}

/** A response that sends HTTP trailers, as both node:http and node:http2 responses do. */
interface WithTrailers {
  addTrailers(headers: http.OutgoingHttpHeaders): void;
}

/**
 * Re-encodes the grpc-message trailer of a gRPC response when the Connect adapter
 * adds it (gRPC over HTTP/2 is the only protocol here that sends HTTP trailers).
 */
export function fixGrpcMessageTrailer(response: WithTrailers): void {
  const addTrailers = response.addTrailers.bind(response);
  response.addTrailers = (headers) => {
    const fixed: http.OutgoingHttpHeaders = {};
    for (const [name, value] of Object.entries(headers)) {
      fixed[name] = name.toLowerCase() === "grpc-message" && typeof value === "string" ? reencodeGrpcMessage(value) : value;
    }
    addTrailers(fixed);
  };
}
