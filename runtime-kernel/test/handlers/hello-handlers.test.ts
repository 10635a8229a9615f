import { create } from "@bufbuild/protobuf";
import { StringValueSchema, anyPack } from "@bufbuild/protobuf/wkt";
import { Code } from "@connectrpc/connect";
import { SayHelloRequestSchema } from "@ottavo/generated/spec/proto/runtime/v1/runtime_pb";
import { contextFor, expectError, runtimeWith } from "./support";

describe("hello handlers", () => {
  const ctx = contextFor("sayHello");
  const sayHello = (runtime: Awaited<ReturnType<typeof runtimeWith>>, serviceName: string, name = "") =>
    runtime.groups.hello.sayHello(create(SayHelloRequestSchema, { serviceName, name }), ctx);

  it("answers the named component's greeting, with the name, and passes data back", async () => {
    const runtime = await runtimeWith([{ capability: "hello", type: "helloworld", name: "helloworld", metadata: { hello: "greetings" } }]);
    expect(await sayHello(runtime, "helloworld")).toEqual({ hello: "greetings", data: undefined });
    expect((await sayHello(runtime, "helloworld", "layotto")).hello).toBe("greetings, layotto");
    const data = anyPack(StringValueSchema, create(StringValueSchema, { value: "payload" }));
    const answer = await runtime.groups.hello.sayHello(create(SayHelloRequestSchema, { serviceName: "helloworld", data }), ctx);
    expect(answer.data).toBe(data);
    await runtime.close();
  });

  it("routes a blank or unknown name to the only hello component", async () => {
    const runtime = await runtimeWith([{ capability: "hello", type: "helloworld", name: "quick_start_demo" }]);
    expect((await sayHello(runtime, "")).hello).toBe("greetings");
    expect((await sayHello(runtime, "someone_else")).hello).toBe("greetings");
    await runtime.close();
  });

  it("answers Layotto's 'no instance found' when the name picks none of several, or none is configured", async () => {
    const runtime = await runtimeWith([
      { capability: "hello", type: "helloworld", name: "a" },
      { capability: "hello", type: "helloworld", name: "b", metadata: { hello: "hi" } },
    ]);
    expect((await sayHello(runtime, "b")).hello).toBe("hi");
    await expectError(sayHello(runtime, "c"), Code.InvalidArgument, "no instance found: hello service 'c' is not configured");
    await expectError(sayHello(runtime, ""), Code.InvalidArgument, "no instance found: hello service '' is not configured");
    await runtime.close();

    const bare = await runtimeWith([]);
    await expectError(sayHello(bare, "helloworld"), Code.FailedPrecondition, "no instance found: no hello component is configured");
  });
});
