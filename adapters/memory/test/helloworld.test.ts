import { helloworldAdapter } from "../src/helloworld";
import { closer, context } from "./support";

const components = closer();
afterEach(() => components.closeAll());

describe("helloworld", () => {
  it("answers its configured greeting, with the name when one is given", async () => {
    const hello = components.track(await helloworldAdapter.create({ hello: "greetings" }, context()));
    expect(await hello.sayHello({ name: "" })).toEqual({ hello: "greetings" });
    expect(await hello.sayHello({ name: "layotto" })).toEqual({ hello: "greetings, layotto" });
  });

  it("greets with the declared default when metadata gives none", async () => {
    const hello = components.track(await helloworldAdapter.create({}, context()));
    expect(await hello.sayHello({ name: "" })).toEqual({ hello: "greetings" });
    await expect(hello.health!()).resolves.toBeUndefined();
  });
});
