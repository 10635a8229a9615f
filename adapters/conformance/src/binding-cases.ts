import { bindingFeatures, type OutputBinding } from "@ottavo/generated/components/binding";
import { fail, rejectsWith, sameBytes, succeeds, utf8 } from "./assertions";
import type { ConformanceCase, ConformanceEnv, ConformanceSuite } from "./conformance-case";

/**
 * The output binding suite, from spec/components/binding.cap. A binding's
 * operations are its own, so the target names one that its system answers by
 * returning the request's data unchanged (`fixture.echoOperation`: "post" for the
 * http binding pointed at an echo endpoint). Checked: the data goes there and
 * back byte for byte (binary, empty), the answer's metadata is text, calls may run
 * concurrently, and an operation the binding does not support is INVALID_ARGUMENT.
 */

type Case = ConformanceCase<OutputBinding, never>;

const core: readonly Case[] = [
  {
    name: "the echo operation carries binary data there and back byte for byte",
    async run(binding, env) {
      const operation = echoOperation(env);
      const data = Uint8Array.from({ length: 4096 }, (_, i) => (i * 31) % 256);
      const result = await succeeds(binding.invoke({ operation, data, metadata: {} }), `invoke '${operation}' with 4096 bytes`);
      sameBytes(result.data, data, `data answered by '${operation}'`);
      for (const [key, value] of Object.entries(result.metadata)) {
        if (typeof value !== "string") fail(`invoke '${operation}': answer metadata '${key}' is not text (${typeof value})`);
      }
    },
  },
  {
    name: "the echo operation carries empty data",
    async run(binding, env) {
      const operation = echoOperation(env);
      const result = await succeeds(binding.invoke({ operation, data: new Uint8Array(0), metadata: {} }), `invoke '${operation}' with no data`);
      sameBytes(result.data, new Uint8Array(0), `data answered by '${operation}'`);
    },
  },
  {
    name: "20 concurrent invocations each get their own answer",
    async run(binding, env) {
      const operation = echoOperation(env);
      const answers = await Promise.all(
        Array.from({ length: 20 }, (_, i) => succeeds(binding.invoke({ operation, data: utf8(`${env.prefix}${i}`), metadata: {} }), `invoke ${i}`)),
      );
      answers.forEach((answer, i) => sameBytes(answer.data, utf8(`${env.prefix}${i}`), `answer of concurrent invocation ${i}`));
    },
  },
  {
    name: "an operation the binding does not support is INVALID_ARGUMENT",
    async run(binding, env) {
      const operation = env.key("no-such-operation");
      await rejectsWith(binding.invoke({ operation, data: utf8("x"), metadata: {} }), ["INVALID_ARGUMENT"], `invoke '${operation}'`);
    },
  },
];

export const bindingCases: { readonly core: readonly Case[] } = { core };

export const bindingSuite: ConformanceSuite<"binding"> = { capability: "binding", features: bindingFeatures, cases: bindingCases };

function echoOperation(env: ConformanceEnv<OutputBinding>): string {
  const operation = env.fixture.echoOperation;
  if (typeof operation !== "string" || operation === "") {
    fail("the binding suite needs fixture.echoOperation: an operation whose system answers with the request's data");
  }
  return operation;
}
