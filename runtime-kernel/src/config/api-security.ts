import * as path from "node:path";
import { isPlainObject } from "./component-entry";
import { ConfigError, type ConfigReport } from "./config-error";
import { formatListenAddress, type ListenAddress } from "./listen-address";

/**
 * A certificate or key: a PEM file (reloaded when it changes) or PEM text
 * written into the config (Layotto's tls_context allows both).
 */
export type PemSource = { readonly file: string } | { readonly pem: string };

/** TLS on the API port: the server's certificate and key, and for mTLS the CAs that sign client certificates. */
export interface TlsSettings {
  readonly cert: PemSource;
  readonly key: PemSource;
  /** When set, clients must present a certificate signed by one of these CAs. */
  readonly clientCa?: PemSource;
}

/** How the API port is protected, beside the API token (OTTAVO_API_TOKEN, from the environment). */
export interface ApiSecurity {
  readonly tls?: TlsSettings;
  /** Serve plaintext without a token on a non-loopback address anyway (a warning is still printed). */
  readonly insecure: boolean;
}

export const defaultApiSecurity: ApiSecurity = { insecure: false };

/**
 * Ottavo YAML, under `api`:
 *
 *   tls: { certFile: server.pem, keyFile: server-key.pem, clientCaFile: ca.pem }   # clientCaFile: mTLS
 *   insecure: false
 *
 * Relative file names start at the config file's folder.
 */
export function readApiSecurity(report: ConfigReport, configDir: string, tls: unknown, insecure: unknown): ApiSecurity {
  if (insecure !== undefined && insecure !== null && typeof insecure !== "boolean") report.problem("'api.insecure' must be true or false");
  const result: { tls?: TlsSettings; insecure: boolean } = { insecure: insecure === true };
  if (tls === undefined || tls === null) return result;
  if (!isPlainObject(tls)) {
    report.problem("'api.tls' must be a map with certFile and keyFile (and clientCaFile for client certificates)");
    return result;
  }
  const { certFile, keyFile, clientCaFile, ...unknown } = tls;
  for (const key of Object.keys(unknown)) report.problem(`unknown key 'api.tls.${key}'; known: certFile, keyFile, clientCaFile`);
  const file = (key: string, value: unknown, required: boolean): PemSource | undefined => {
    if (value === undefined || value === null) {
      if (required) report.problem(`'api.tls.${key}' is required`);
      return undefined;
    }
    if (typeof value !== "string" || value === "") {
      report.problem(`'api.tls.${key}' must be a file name`);
      return undefined;
    }
    return { file: path.resolve(configDir, value) };
  };
  const cert = file("certFile", certFile, true);
  const key = file("keyFile", keyFile, true);
  const clientCa = file("clientCaFile", clientCaFile, false);
  if (cert && key) result.tls = { cert, key, ...(clientCa && { clientCa }) };
  return result;
}

/**
 * Layotto's (MOSN's) listener setting `filter_chains[].tls_context` (or the first
 * of `tls_context_set`): `status: true` turns TLS on, `cert_chain`, `private_key`
 * and `ca_cert` are PEM text or file names, `verify_client` asks for client
 * certificates. Layotto's own runtime served plaintext regardless; Ottavo serves TLS.
 */
export function readLayottoTls(report: ConfigReport, configDir: string, listener: Record<string, unknown>, where: string): TlsSettings | undefined {
  const chains = Array.isArray(listener.filter_chains) ? listener.filter_chains : [];
  for (const chain of chains) {
    if (!isPlainObject(chain)) continue;
    const set = Array.isArray(chain.tls_context_set) ? chain.tls_context_set[0] : undefined;
    const context = isPlainObject(chain.tls_context) ? chain.tls_context : isPlainObject(set) ? set : undefined;
    if (context === undefined || context.status !== true) continue;
    const source = (key: string, required: boolean): PemSource | undefined => {
      const value = context[key];
      if (typeof value !== "string" || value === "") {
        if (required) report.problem(`${where}: tls_context has status true but no '${key}'`);
        return undefined;
      }
      return value.includes("-----BEGIN") ? { pem: value } : { file: path.resolve(configDir, value) };
    };
    const cert = source("cert_chain", true);
    const key = source("private_key", true);
    const clientCa = context.verify_client === true || context.require_client_cert === true ? source("ca_cert", true) : undefined;
    if (cert && key) return { cert, key, ...(clientCa && { clientCa }) };
    return undefined;
  }
  return undefined;
}

/** Loopback addresses, where only this machine can connect. */
function isLoopback(address: ListenAddress): boolean {
  if (address.kind === "unix") return true;
  const host = address.host.toLowerCase();
  return host === "localhost" || host === "::1" || /^127\.\d+\.\d+\.\d+$/.test(host) || host === "::ffff:127.0.0.1";
}

/**
 * The API on an address other machines can reach: refused without TLS or a token
 * unless the config says insecure; a warning whenever it is plaintext there.
 * Returns the warning, or throws a ConfigError of one line naming the file.
 */
export function checkExposure(file: string, api: ListenAddress, security: ApiSecurity, tokenSet: boolean): string | undefined {
  if (isLoopback(api) || security.tls !== undefined) return undefined;
  const where = api.kind === "tcp" && api.host === "" ? `every interface (${formatListenAddress(api)})` : formatListenAddress(api);
  if (!tokenSet && !security.insecure) {
    throw new ConfigError([
      `${file}: the API would listen on ${where}, reachable from other machines, in plaintext and without an API token; ` +
        "configure TLS (api.tls, or tls_context in Layotto's config), set OTTAVO_API_TOKEN, or say api.insecure: true",
    ]);
  }
  return `${file}: warning: the API listens on ${where} in plaintext${tokenSet ? " (API token required)" : " without an API token (api.insecure: true)"}`;
}
