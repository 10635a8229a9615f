import { enumOf, field, fileRegistry, message, messageField, repeated, rpc, scalar, serviceOf } from "../descriptor-builder";
import { FieldDescriptorProto_Type } from "@bufbuild/protobuf/wkt";

/**
 * grpc.health.v1, gRPC's standard health checking service (what Kubernetes gRPC
 * probes, grpc_health_probe and load balancers call): Check, Watch and List.
 */
export const healthRegistry = fileRegistry({
  name: "grpc/health/v1/health.proto",
  package: "grpc.health.v1",
  messages: [
    message("HealthCheckRequest", [field("service", 1, scalar.string)]),
    message("HealthCheckResponse", [field("status", 1, FieldDescriptorProto_Type.ENUM, { typeName: ".grpc.health.v1.HealthCheckResponse.ServingStatus" })], {
      enums: [enumOf("ServingStatus", ["UNKNOWN", "SERVING", "NOT_SERVING", "SERVICE_UNKNOWN"])],
    }),
    message("HealthListRequest", []),
    message("HealthListResponse", [repeated(messageField("statuses", 1, ".grpc.health.v1.HealthListResponse.StatusesEntry"))], {
      nested: [
        message("StatusesEntry", [field("key", 1, scalar.string), messageField("value", 2, ".grpc.health.v1.HealthCheckResponse")], { mapEntry: true }),
      ],
    }),
  ],
  services: [
    {
      name: "Health",
      method: [
        rpc("Check", ".grpc.health.v1.HealthCheckRequest", ".grpc.health.v1.HealthCheckResponse"),
        rpc("List", ".grpc.health.v1.HealthListRequest", ".grpc.health.v1.HealthListResponse"),
        rpc("Watch", ".grpc.health.v1.HealthCheckRequest", ".grpc.health.v1.HealthCheckResponse", { server: true }),
      ],
    },
  ],
});

export const HealthService = serviceOf(healthRegistry, "grpc.health.v1.Health");

/** HealthCheckResponse.ServingStatus. */
export const ServingStatus = { UNKNOWN: 0, SERVING: 1, NOT_SERVING: 2, SERVICE_UNKNOWN: 3 } as const;
export type ServingStatus = (typeof ServingStatus)[keyof typeof ServingStatus];
