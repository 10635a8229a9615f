/**
 * A user name and password in the URL: sent as basic auth (as Go does), and kept
 * out of every message.
 */

/** Go's basic auth from the URL's user name and password (percent-decoded), or none. */
export function basicAuth(url: URL): string | undefined {
  if (url.username === "" && url.password === "") return undefined;
  return `Basic ${Buffer.from(`${percentDecode(url.username)}:${percentDecode(url.password)}`).toString("base64")}`;
}

function percentDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/** The URL for messages, without user name and password. */
export function redact(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.username === "" && parsed.password === "") return url;
    parsed.username = "";
    parsed.password = "";
    return parsed.toString();
  } catch {
    return url;
  }
}
