import { secretFeatures, type SecretStore } from "@ottavo/generated/components/secret";
import { fail, rejectsWith, sameData, succeeds } from "./assertions";
import type { ConformanceCase, ConformanceSuite } from "./conformance-case";

/**
 * The secrets a store under test must hold, as Dapr's secret store conformance
 * tests seed theirs: a secret store only reads, so the suite cannot write its own.
 * Each is a single-valued secret: get(name) answers { [name]: value }.
 */
export const SECRET_FIXTURE: Readonly<Record<string, string>> = {
  conftestsecret: "abcd",
  secondsecret: "efgh",
};

/**
 * The secret suite, from spec/components/secret.cap: get answers a held secret as
 * its map, a missing one is NOT_FOUND, and bulkGet answers every held secret (at
 * least the fixture's) the way get does.
 */

type Case = ConformanceCase<SecretStore, never>;

const core: readonly Case[] = [
  {
    name: "get answers each secret of the fixture as { name: value }",
    async run(store) {
      for (const [name, value] of Object.entries(SECRET_FIXTURE)) {
        const secret = await succeeds(store.get({ name, metadata: {} }), `get secret '${name}' (seed it: see SECRET_FIXTURE)`);
        sameData(secret, { [name]: value }, `secret '${name}'`);
      }
    },
  },
  {
    name: "get of a secret the store does not hold is NOT_FOUND",
    async run(store, env) {
      const name = env.key("never-seeded");
      await rejectsWith(store.get({ name, metadata: {} }), ["NOT_FOUND"], `get secret '${name}'`);
    },
  },
  {
    name: "bulkGet answers every secret of the fixture, each as get answers it",
    async run(store) {
      const all = await succeeds(store.bulkGet({ metadata: {} }), "bulkGet");
      if (all === null || typeof all !== "object") fail(`bulkGet: expected a map of secrets, got ${String(all)}`);
      for (const [name, value] of Object.entries(SECRET_FIXTURE)) {
        sameData(all[name], { [name]: value }, `secret '${name}' in bulkGet`);
      }
      for (const [name, secret] of Object.entries(all)) {
        if (secret === null || typeof secret !== "object") fail(`bulkGet: secret '${name}' is not a map (${String(secret)})`);
        for (const [key, value] of Object.entries(secret)) {
          if (typeof value !== "string") fail(`bulkGet: secret '${name}' key '${key}' is not text (${typeof value})`);
        }
      }
    },
  },
];

export const secretCases: { readonly core: readonly Case[] } = { core };

export const secretSuite: ConformanceSuite<"secret"> = { capability: "secret", features: secretFeatures, cases: secretCases };
