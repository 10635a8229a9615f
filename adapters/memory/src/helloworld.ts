import type { HelloRequest, HelloResponse } from "@ottavo/generated/components/hello";
import {
  defineHelloworldHelloAdapter,
  helloworldHelloFeatures,
  type HelloworldHello,
} from "@ottavo/generated/components/adapters/helloworld";

/** Answers its configured greeting, followed by ", <name>" when a name is given (as Layotto's helloworld). */
export class HelloWorld implements HelloworldHello {
  readonly features = new Set(helloworldHelloFeatures);

  constructor(private readonly greeting: string) {}

  async sayHello(request: HelloRequest): Promise<HelloResponse> {
    return { hello: request.name ? `${this.greeting}, ${request.name}` : this.greeting };
  }

  async health(): Promise<void> {}

  async close(): Promise<void> {}
}

/** The "helloworld" hello adapter, as the registry holds it. */
export const helloworldAdapter = defineHelloworldHelloAdapter(async (metadata) => new HelloWorld(metadata.hello));
