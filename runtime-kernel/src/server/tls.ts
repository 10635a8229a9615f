import { readFileSync, unwatchFile, watchFile } from "node:fs";
import * as net from "node:net";
import * as tls from "node:tls";
import type { PemSource, TlsSettings } from "../config/api-security";

/** How often certificate files are checked for a change (fs.watchFile polls; it works on every file system). */
const reloadCheckMs = 1_000;

function read(source: PemSource): Buffer {
  return "pem" in source ? Buffer.from(source.pem) : readFileSync(source.file);
}

function secureContextOptions(settings: TlsSettings): tls.SecureContextOptions {
  return { cert: read(settings.cert), key: read(settings.key), ...(settings.clientCa && { ca: read(settings.clientCa) }) };
}

/**
 * The API port's listener: plain TCP, or TLS when settings are given. With TLS,
 * ALPN offers h2 and http/1.1, the decrypted socket goes to the same dispatcher
 * as a plaintext one (which tells HTTP/2 from HTTP/1.1 by the first bytes), a
 * client certificate is required when clientCa is set (mTLS), and the
 * certificate, key and CA files are reloaded when they change: new connections
 * use the new ones, open ones keep theirs. A reload that fails (a half-written
 * file) keeps the old context and says so on `onReloadError`.
 */
export function createApiListener(
  settings: TlsSettings | undefined,
  onSocket: (socket: net.Socket) => void,
  handshakeTimeoutMs: number,
  onReloadError: (error: unknown) => void = () => undefined,
): net.Server {
  if (settings === undefined) return net.createServer(onSocket);
  const server = tls.createServer({
    ...secureContextOptions(settings),
    ALPNProtocols: ["h2", "http/1.1"],
    requestCert: settings.clientCa !== undefined,
    rejectUnauthorized: settings.clientCa !== undefined,
    handshakeTimeout: handshakeTimeoutMs,
  });
  server.on("secureConnection", onSocket);
  // A failed handshake (plaintext client, bad certificate) must not reach the process.
  server.on("tlsClientError", (_error, socket) => socket.destroy());
  const files = [settings.cert, settings.key, settings.clientCa].flatMap((source) => (source && "file" in source ? [source.file] : []));
  const reload = () => {
    try {
      server.setSecureContext(secureContextOptions(settings));
    } catch (error) {
      onReloadError(error);
    }
  };
  for (const file of files) watchFile(file, { interval: reloadCheckMs, persistent: false }, reload);
  server.once("close", () => files.forEach((file) => unwatchFile(file, reload)));
  return server;
}
