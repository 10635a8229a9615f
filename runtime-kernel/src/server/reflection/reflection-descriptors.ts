import type { DescService } from "@bufbuild/protobuf";
import { field, fileRegistry, message, messageField, repeated, rpc, scalar, serviceOf } from "../descriptor-builder";

/**
 * gRPC server reflection: grpc.reflection.v1 and its older twin v1alpha (same
 * messages under another package; grpcurl and buf curl try v1, older clients
 * v1alpha). One bidirectional rpc, ServerReflectionInfo.
 */
function reflectionRegistry(pkg: "grpc.reflection.v1" | "grpc.reflection.v1alpha") {
  const t = (name: string) => `.${pkg}.${name}`;
  const request = ["file_by_filename", "file_containing_symbol", "file_containing_extension", "all_extension_numbers_of_type", "list_services"];
  const response = ["file_descriptor_response", "all_extension_numbers_response", "list_services_response", "error_response"];
  return fileRegistry({
    name: `grpc/reflection/${pkg.split(".").pop()}/reflection.proto`,
    package: pkg,
    messages: [
      message(
        "ServerReflectionRequest",
        [
          field("host", 1, scalar.string),
          field(request[0], 3, scalar.string, { oneofIndex: 0 }),
          field(request[1], 4, scalar.string, { oneofIndex: 0 }),
          messageField(request[2], 5, t("ExtensionRequest"), { oneofIndex: 0 }),
          field(request[3], 6, scalar.string, { oneofIndex: 0 }),
          field(request[4], 7, scalar.string, { oneofIndex: 0 }),
        ],
        { oneofs: ["message_request"] },
      ),
      message("ExtensionRequest", [field("containing_type", 1, scalar.string), field("extension_number", 2, scalar.int32)]),
      message(
        "ServerReflectionResponse",
        [
          field("valid_host", 1, scalar.string),
          messageField("original_request", 2, t("ServerReflectionRequest")),
          messageField(response[0], 4, t("FileDescriptorResponse"), { oneofIndex: 0 }),
          messageField(response[1], 5, t("ExtensionNumberResponse"), { oneofIndex: 0 }),
          messageField(response[2], 6, t("ListServiceResponse"), { oneofIndex: 0 }),
          messageField(response[3], 7, t("ErrorResponse"), { oneofIndex: 0 }),
        ],
        { oneofs: ["message_response"] },
      ),
      message("FileDescriptorResponse", [repeated(field("file_descriptor_proto", 1, scalar.bytes))]),
      message("ExtensionNumberResponse", [field("base_type_name", 1, scalar.string), repeated(field("extension_number", 2, scalar.int32))]),
      message("ListServiceResponse", [repeated(messageField("service", 1, t("ServiceResponse")))]),
      message("ServiceResponse", [field("name", 1, scalar.string)]),
      message("ErrorResponse", [field("error_code", 1, scalar.int32), field("error_message", 2, scalar.string)]),
    ],
    services: [
      {
        name: "ServerReflection",
        method: [rpc("ServerReflectionInfo", t("ServerReflectionRequest"), t("ServerReflectionResponse"), { client: true, server: true })],
      },
    ],
  });
}

export const reflectionRegistries = [reflectionRegistry("grpc.reflection.v1"), reflectionRegistry("grpc.reflection.v1alpha")];

/** Both reflection services, v1 first. */
export const reflectionServices: readonly DescService[] = [
  serviceOf(reflectionRegistries[0], "grpc.reflection.v1.ServerReflection"),
  serviceOf(reflectionRegistries[1], "grpc.reflection.v1alpha.ServerReflection"),
];
