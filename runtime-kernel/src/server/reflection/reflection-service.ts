import { create, toBinary, type DescFile, type DescMessage, type DescService, type Message } from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema } from "@bufbuild/protobuf/wkt";
import { Code, type ConnectRouter, type ServiceImpl } from "@connectrpc/connect";
import { reflectionServices } from "./reflection-descriptors";

/**
 * gRPC server reflection (v1 and v1alpha) over the services the router serves,
 * so that grpcurl, buf curl and Postman need no local schema. It answers from the
 * descriptors compiled into the served code (generated/ for Ottavo's API, so they
 * follow `make gen`), and reads the router when asked: every service registered,
 * before or after this one, is listed.
 */
export function registerReflection(router: ConnectRouter): void {
  const index = new LazyIndex(() => [...new Set(router.handlers.map((handler) => handler.service))]);
  for (const service of reflectionServices) {
    const impl = {
      async *serverReflectionInfo(requests: AsyncIterable<ReflectionRequest>) {
        for await (const request of requests) yield create(service.method.serverReflectionInfo.output, answer(index.get(), request));
      },
    };
    router.service(service, impl as unknown as ServiceImpl<DescService>);
  }
}

/** ServerReflectionRequest as protobuf-es reads it (v1 and v1alpha alike). */
type ReflectionRequest = Message & {
  host: string;
  messageRequest:
    | { case: "fileByFilename" | "fileContainingSymbol" | "allExtensionNumbersOfType" | "listServices"; value: string }
    | { case: "fileContainingExtension"; value: { containingType: string; extensionNumber: number } }
    | { case: undefined; value?: undefined };
};

interface Index {
  readonly services: readonly DescService[];
  /** Every file the services need, by file name (their own and what they import). */
  readonly files: ReadonlyMap<string, DescFile>;
  /** The file that declares each fully qualified name (services, methods, messages, fields, enums). */
  readonly symbols: ReadonlyMap<string, DescFile>;
  readonly messages: ReadonlyMap<string, DescMessage>;
}

/** Built on the first reflection call: by then every service is registered. */
class LazyIndex {
  private index: Index | undefined;
  constructor(private readonly services: () => DescService[]) {}
  get(): Index {
    return (this.index ??= buildIndex(this.services()));
  }
}

function buildIndex(services: readonly DescService[]): Index {
  const files = new Map<string, DescFile>();
  const visit = (file: DescFile) => {
    if (files.has(file.name + ".proto")) return;
    files.set(file.name + ".proto", file);
    file.dependencies.forEach(visit);
  };
  services.forEach((service) => visit(service.file));
  const symbols = new Map<string, DescFile>();
  const messages = new Map<string, DescMessage>();
  const addMessage = (file: DescFile, message: DescMessage) => {
    symbols.set(message.typeName, file);
    messages.set(message.typeName, message);
    for (const f of message.fields) symbols.set(`${message.typeName}.${f.name}`, file);
    for (const e of message.nestedEnums) symbols.set(e.typeName, file);
    message.nestedMessages.forEach((nested) => addMessage(file, nested));
  };
  for (const file of files.values()) {
    for (const service of file.services) {
      symbols.set(service.typeName, file);
      for (const method of service.methods) symbols.set(`${service.typeName}.${method.name}`, file);
    }
    file.messages.forEach((message) => addMessage(file, message));
    for (const e of file.enums) symbols.set(e.typeName, file);
  }
  return { services, files, symbols, messages };
}

/** One response, as an init object of ServerReflectionResponse. */
function answer(index: Index, request: ReflectionRequest): Record<string, unknown> {
  const base = { validHost: request.host, originalRequest: request };
  const found = (file: DescFile | undefined, what: string) =>
    file === undefined
      ? { ...base, messageResponse: notFound(what) }
      : { ...base, messageResponse: { case: "fileDescriptorResponse", value: { fileDescriptorProto: withImports(file) } } };
  const asked = request.messageRequest;
  switch (asked.case) {
    case "listServices":
      return { ...base, messageResponse: { case: "listServicesResponse", value: { service: index.services.map((s) => ({ name: s.typeName })) } } };
    case "fileByFilename":
      return found(index.files.get(asked.value), `file ${asked.value}`);
    case "fileContainingSymbol":
      return found(index.symbols.get(asked.value.replace(/^\./, "")), `symbol ${asked.value}`);
    case "fileContainingExtension":
      // No served file declares extensions.
      return { ...base, messageResponse: notFound(`extension ${asked.value.extensionNumber} of ${asked.value.containingType}`) };
    case "allExtensionNumbersOfType": {
      const message = index.messages.get(asked.value.replace(/^\./, ""));
      if (message === undefined) return { ...base, messageResponse: notFound(`type ${asked.value}`) };
      return { ...base, messageResponse: { case: "allExtensionNumbersResponse", value: { baseTypeName: message.typeName, extensionNumber: [] } } };
    }
    default:
      return {
        ...base,
        messageResponse: { case: "errorResponse", value: { errorCode: Code.InvalidArgument, errorMessage: "the request names no reflection query" } },
      };
  }
}

function notFound(what: string) {
  return { case: "errorResponse", value: { errorCode: Code.NotFound, errorMessage: `${what} not found` } };
}

/** The file first, then every file it imports, transitively; clients ask for nothing twice. */
function withImports(file: DescFile): Uint8Array[] {
  const out: DescFile[] = [];
  const visit = (f: DescFile) => {
    if (out.includes(f)) return;
    out.push(f);
    f.dependencies.forEach(visit);
  };
  visit(file);
  return out.map((f) => encodedFile(f));
}

const encoded = new WeakMap<DescFile, Uint8Array>();

function encodedFile(file: DescFile): Uint8Array {
  let bytes = encoded.get(file);
  if (bytes === undefined) {
    bytes = toBinary(FileDescriptorProtoSchema, file.proto);
    encoded.set(file, bytes);
  }
  return bytes;
}
