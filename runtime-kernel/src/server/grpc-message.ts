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
 * A space at either end is escaped too: HTTP/2 forbids a field value that starts
 * or ends with whitespace, and nghttp2 (Node's, so grpc-js's) drops such a field,
 * so a message ending in a space reached grpc-js clients as no message at all.
 */
export function grpcPercentEncode(text: string): string {
  const bytes = Buffer.from(text, "utf8");
  let out = "";
  bytes.forEach((byte, i) => {
    const edgeSpace = byte === 0x20 && (i === 0 || i === bytes.length - 1);
    out +=
      byte >= 0x20 && byte <= 0x7e && byte !== 0x25 && !edgeSpace
        ? String.fromCharCode(byte)
        : `%${byte.toString(16).toUpperCase().padStart(2, "0")}`;
  });
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
