"""Every failed call raises an OttavoError: a class per gRPC status, or a typed error of spec/components."""

from __future__ import annotations

from typing import Any

import grpc


class OttavoError(Exception):
    """A failed call: the gRPC status, the runtime's message, and the capability called."""

    def __init__(self, code: grpc.StatusCode, message: str, capability: str | None) -> None:
        super().__init__(f"{code.name}: {message}")
        self.code = code
        self.message = message
        self.capability = capability


class Cancelled(OttavoError): ...
class Unknown(OttavoError): ...
class InvalidArgument(OttavoError): ...
class DeadlineExceeded(OttavoError): ...
class NotFound(OttavoError): ...
class AlreadyExists(OttavoError): ...
class PermissionDenied(OttavoError): ...
class ResourceExhausted(OttavoError): ...
class FailedPrecondition(OttavoError): ...
class Aborted(OttavoError): ...
class OutOfRange(OttavoError): ...
class Unimplemented(OttavoError): ...
class Internal(OttavoError): ...
class Unavailable(OttavoError): ...
class DataLoss(OttavoError): ...
class Unauthenticated(OttavoError): ...


STATUS_CLASSES: dict[grpc.StatusCode, type[OttavoError]] = {
    grpc.StatusCode.CANCELLED: Cancelled,
    grpc.StatusCode.UNKNOWN: Unknown,
    grpc.StatusCode.INVALID_ARGUMENT: InvalidArgument,
    grpc.StatusCode.DEADLINE_EXCEEDED: DeadlineExceeded,
    grpc.StatusCode.NOT_FOUND: NotFound,
    grpc.StatusCode.ALREADY_EXISTS: AlreadyExists,
    grpc.StatusCode.PERMISSION_DENIED: PermissionDenied,
    grpc.StatusCode.RESOURCE_EXHAUSTED: ResourceExhausted,
    grpc.StatusCode.FAILED_PRECONDITION: FailedPrecondition,
    grpc.StatusCode.ABORTED: Aborted,
    grpc.StatusCode.OUT_OF_RANGE: OutOfRange,
    grpc.StatusCode.UNIMPLEMENTED: Unimplemented,
    grpc.StatusCode.INTERNAL: Internal,
    grpc.StatusCode.UNAVAILABLE: Unavailable,
    grpc.StatusCode.DATA_LOSS: DataLoss,
    grpc.StatusCode.UNAUTHENTICATED: Unauthenticated,
}


def classify(capability: str | None, error: Any) -> OttavoError:
    """The typed error for a grpc.RpcError: the capability's own class for its status, else the status's class."""
    from ottavo.errors_gen import TYPED_ERRORS

    code: grpc.StatusCode = error.code() if callable(getattr(error, "code", None)) else grpc.StatusCode.UNKNOWN
    details = error.details() if callable(getattr(error, "details", None)) else str(error)
    cls = (TYPED_ERRORS.get(capability or "", {}).get(code)) or STATUS_CLASSES.get(code, Unknown)
    return cls(code, details or "", capability)
