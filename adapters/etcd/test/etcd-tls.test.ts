import { readFileSync } from "node:fs";
import { basename, dirname } from "node:path";
import { ComponentError, MetadataError, type AdapterContext, type Component } from "@ottavo/component-runtime";
import { makeTestCertificates, startEtcd, type EtcdServer, type TestCertificates } from "@ottavo/test-support";
import { etcdConfigurationAdapter } from "../src/etcd-configuration-store";
import { etcdLockAdapter } from "../src/etcd-lock-store";
import { etcdSequencerAdapter } from "../src/etcd-sequencer";

/**
 * The etcd adapters over TLS beyond the conformance suite (etcd-tls.conformance
 * runs the three suites with client-certificate auth): what a client that etcd or
 * the client itself does not trust gets (a clear UNAVAILABLE, never a wait), the
 * forms tlsCa / tlsCert / tlsCertKey take, and settings refused at start.
 */

let certs: TestCertificates;
/** Another CA and its certificates: trusted by nobody here. */
let strangers: TestCertificates;
/** TLS with --client-cert-auth. */
let mutual: EtcdServer;
/** TLS, no client certificates asked. */
let serverOnly: EtcdServer;
const open: Component<string>[] = [];

beforeAll(async () => {
  certs = makeTestCertificates();
  strangers = makeTestCertificates();
  mutual = await startEtcd({ tls: { cert: certs.serverCert, key: certs.serverKey, clientCa: certs.ca } });
  serverOnly = await startEtcd({ tls: { cert: certs.serverCert, key: certs.serverKey } });
}, 30_000);
afterAll(async () => {
  await Promise.all([mutual?.remove(), serverOnly?.remove()]);
  certs?.remove();
  strangers?.remove();
});
afterEach(async () => {
  await Promise.all(open.splice(0).map((c) => c.close()));
});

function context(configDir = "/tmp"): AdapterContext {
  return { componentName: "etcd_tls", appId: "app1", configDir, settings: {} };
}

async function lockStore(metadata: Record<string, string>, configDir?: string) {
  const store = await etcdLockAdapter.create({ keyPrefixPath: `/tls-${open.length}-${Date.now()}/`, ...metadata }, context(configDir));
  open.push(store);
  return store;
}

const mutualMetadata = () => ({ endpoints: mutual.endpoint, tlsCa: certs.ca, tlsCert: certs.clientCert, tlsCertKey: certs.clientKey });

const tryLock = (store: Awaited<ReturnType<typeof lockStore>>) =>
  store.tryLock({ resourceId: "r", lockOwner: "o", expireSeconds: 10 });

/** The rejection of a call as "STATUS: message", or what it resolved to. */
async function failureOf(work: Promise<unknown>): Promise<string> {
  try {
    return `resolved: ${JSON.stringify(await work, (_k, v: unknown) => (typeof v === "bigint" ? v.toString() : v))}`;
  } catch (error) {
    return error instanceof ComponentError ? `${error.status}: ${error.message}` : `not a component error: ${String(error)}`;
  }
}

async function refusal(create: Promise<unknown>): Promise<string> {
  try {
    await create;
    return "created";
  } catch (error) {
    return error instanceof MetadataError ? error.message : `not a metadata error: ${String(error)}`;
  }
}

describe("etcd over TLS", () => {
  it("with the right CA and a client certificate, lock, sequencer and configuration work against --client-cert-auth", async () => {
    const lock = await lockStore(mutualMetadata());
    expect(await tryLock(lock)).toEqual({ success: true });
    const sequencer = await etcdSequencerAdapter.create({ keyPrefixPath: `/tls-seq-${Date.now()}/`, ...mutualMetadata() }, context());
    open.push(sequencer);
    expect(await sequencer.nextId({ key: "k", metadata: {} })).toBe(1n);
    const config = await etcdConfigurationAdapter.create({ keyPrefixPath: `/tls-cfg-${Date.now()}/`, ...mutualMetadata() }, context());
    open.push(config);
    await config.save({ appId: "app1", items: [{ key: "k", content: "v", group: "", label: "", tags: {}, metadata: {} } as never], metadata: {} });
    expect((await config.get({ appId: "app1", group: "", label: "", keys: ["k"], metadata: {} })).map((i) => i.content)).toEqual(["v"]);
    await expect(config.health?.()).resolves.toBeUndefined();
  });

  it("a client that does not trust etcd's certificate (wrong tlsCa) fails with UNAVAILABLE naming the certificate problem; a subscribe too", async () => {
    const wrongCa = { ...mutualMetadata(), tlsCa: strangers.ca };
    const lock = await lockStore(wrongCa);
    const failure = await failureOf(tryLock(lock));
    expect(failure).toMatch(/^UNAVAILABLE: etcd of component 'etcd_tls' is unavailable: .*certificate.* \(TLS: check the component's tlsCa, tlsCert and tlsCertKey\)$/s);
    await expect(lock.health?.()).rejects.toMatchObject({ status: "UNAVAILABLE" });
    const config = await etcdConfigurationAdapter.create({ keyPrefixPath: "/tls-wrong/", ...wrongCa }, context());
    open.push(config);
    expect(await failureOf(config.subscribe({ appId: "app1", group: "", label: "", keys: [], metadata: {} }, async () => {}))).toMatch(
      /^UNAVAILABLE: .*certificate/,
    );
  });

  it("etcd refuses a client without a certificate, or with one another CA signed: UNAVAILABLE", async () => {
    const noCertificate = await lockStore({ endpoints: mutual.endpoint, tlsCa: certs.ca });
    expect(await failureOf(tryLock(noCertificate))).toMatch(/^UNAVAILABLE: etcd of component 'etcd_tls' is unavailable: /);
    const foreign = await lockStore({ ...mutualMetadata(), tlsCert: strangers.clientCert, tlsCertKey: strangers.clientKey });
    expect(await failureOf(tryLock(foreign))).toMatch(/^UNAVAILABLE: etcd of component 'etcd_tls' is unavailable: /);
  });

  it("tlsCa alone is server-only TLS; PEM text works in place of a path; a relative path is read from the config's folder", async () => {
    const caOnly = await lockStore({ endpoints: serverOnly.endpoint, tlsCa: certs.ca });
    expect(await tryLock(caOnly)).toEqual({ success: true });
    const pemText = await lockStore({
      endpoints: mutual.endpoint,
      tlsCa: readFileSync(certs.ca, "utf8"),
      tlsCert: readFileSync(certs.clientCert, "utf8"),
      tlsCertKey: readFileSync(certs.clientKey, "utf8"),
    });
    expect(await tryLock(pemText)).toEqual({ success: true });
    const relative = await lockStore(
      { endpoints: mutual.endpoint, tlsCa: basename(certs.ca), tlsCert: basename(certs.clientCert), tlsCertKey: basename(certs.clientKey) },
      dirname(certs.ca),
    );
    expect(await tryLock(relative)).toEqual({ success: true });
    // The endpoint may say https:// itself.
    const https = await lockStore({ ...mutualMetadata(), endpoints: `https://${mutual.endpoint}` });
    expect(await tryLock(https)).toEqual({ success: true });
  });

  it("a plain client against a TLS etcd fails with UNAVAILABLE, not a wait", async () => {
    const plain = await lockStore({ endpoints: serverOnly.endpoint });
    expect(await failureOf(tryLock(plain))).toMatch(/^(UNAVAILABLE|DEADLINE_EXCEEDED): etcd of component 'etcd_tls' /);
  });

  it("refuses inconsistent or unreadable TLS settings at start, naming the component and the field", async () => {
    const create = (metadata: Record<string, string>) => refusal(etcdLockAdapter.create({ endpoints: mutual.endpoint, ...metadata }, context()));
    expect(await create({ tlsCa: certs.ca, tlsCert: certs.clientCert })).toBe(
      "etcd component 'etcd_tls': tlsCert and tlsCertKey go together (a client certificate and its private key); one is missing",
    );
    expect(await create({ tlsCa: "/nowhere/ca.pem" })).toMatch(/^etcd component 'etcd_tls': cannot read tlsCa file '\/nowhere\/ca.pem': ENOENT/);
    expect(await create({ tlsCa: certs.clientKey })).toMatch(/^etcd component 'etcd_tls': tlsCa holds no PEM certificate/);
    expect(await create({ tlsCa: certs.ca, tlsCert: certs.clientCert, tlsCertKey: strangers.clientKey })).toMatch(
      /^etcd component 'etcd_tls': tlsCertKey is not the private key of tlsCert \(CN=ottavo-test-client\)$/,
    );
    expect(await create({ endpoints: `http://${mutual.endpoint}`, tlsCa: certs.ca })).toBe(
      "etcd component 'etcd_tls': tlsCa, tlsCert or tlsCertKey is set, but an endpoint is written http://",
    );
    expect(await create({ endpoints: `https://${mutual.endpoint};127.0.0.1:1`, tlsCa: certs.ca })).toBe(
      "etcd component 'etcd_tls': endpoints mix https:// and others; write every one with https:// or none",
    );
  });
});
