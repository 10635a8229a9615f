import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** PEM files a test made: a CA, a server and a client certificate it signed, and their keys. */
export interface TestCertificates {
  readonly dir: string;
  /** The CA's certificate. */
  readonly ca: string;
  /** A server certificate for 127.0.0.1 and localhost, and its key. */
  readonly serverCert: string;
  readonly serverKey: string;
  /** A client certificate (CN "ottavo-test-client"), and its key. */
  readonly clientCert: string;
  readonly clientKey: string;
  /** Removes the folder. */
  remove(): void;
}

/**
 * Makes a fresh CA and a server and a client certificate it signs, with the
 * machine's openssl, in a temp folder (short-lived: valid one day). Each call
 * makes another CA, so two calls give certificates that do not trust each other
 * (for the wrong-CA cases).
 */
export function makeTestCertificates(): TestCertificates {
  const dir = mkdtempSync(join(tmpdir(), "ottavo-certs-"));
  const file = (name: string) => join(dir, name);
  const openssl = (...args: string[]) => {
    try {
      execFileSync("openssl", args, { cwd: dir, stdio: ["ignore", "ignore", "pipe"] });
    } catch (error) {
      const stderr = (error as { stderr?: Buffer }).stderr?.toString("utf8") ?? "";
      throw new Error(`openssl ${args[0]} failed (apt-get install openssl if it is missing): ${(error as Error).message}\n${stderr}`);
    }
  };
  const key = (name: string) => openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", file(name));
  key("ca-key.pem");
  openssl("req", "-x509", "-new", "-key", file("ca-key.pem"), "-subj", "/CN=ottavo-test-ca", "-days", "1", "-out", file("ca.pem"));
  const issue = (name: string, subject: string, extensions: string) => {
    key(`${name}-key.pem`);
    openssl("req", "-new", "-key", file(`${name}-key.pem`), "-subj", subject, "-out", file(`${name}.csr`));
    writeFileSync(file(`${name}.ext`), extensions);
    openssl(
      "x509", "-req", "-in", file(`${name}.csr`), "-CA", file("ca.pem"), "-CAkey", file("ca-key.pem"), "-CAcreateserial",
      "-days", "1", "-extfile", file(`${name}.ext`), "-out", file(`${name}.pem`),
    );
  };
  issue("server", "/CN=127.0.0.1", "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth,clientAuth\n");
  issue("client", "/CN=ottavo-test-client", "extendedKeyUsage=clientAuth\n");
  return {
    dir,
    ca: file("ca.pem"),
    serverCert: file("server.pem"),
    serverKey: file("server-key.pem"),
    clientCert: file("client.pem"),
    clientKey: file("client-key.pem"),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}
