"""Every failed call raises an OttavoError: a class per gRPC status, or a typed error of spec/components."""

from __future__ import annotations

from typing import Any

import grpc


class OttavoError(Exception):
    """A failed call: the gRPC status, the runtime's message, and the capability called."""

    def __init__(self, code: grpc.StatusCode, message: str, capability: str | None, reason: str | None = None) -> None:
        super().__init__(f"{code.name}: {message}")
        self.code = code
        self.message = message
        self.capability = capability
        self.reason = reason
        """The IDL error's name the runtime sent ("EtagInvalid", "Unavailable"), or None when it sent none."""


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
    """The typed error for a grpc.RpcError: the one a google.rpc.ErrorInfo of the runtime's domain
    names (its reason, and its capability in the metadata), else the called capability's class
    for the status, else the status's class."""
    from ottavo.errors_gen import ERROR_INFO_DOMAIN, ERRORS_BY_REASON, ERRORS_BY_STATUS

    code: grpc.StatusCode = error.code() if callable(getattr(error, "code", None)) else grpc.StatusCode.UNKNOWN
    details = error.details() if callable(getattr(error, "details", None)) else str(error)
    info = _error_info(error, ERROR_INFO_DOMAIN)
    cls: type[OttavoError] | None
    if info is not None:
        reason, info_capability = info
        cls = ERRORS_BY_REASON.get(info_capability, {}).get(reason)
    else:
        reason, cls = None, ERRORS_BY_STATUS.get(capability or "", {}).get(code)
    return (cls or STATUS_CLASSES.get(code, Unknown))(code, details or "", capability, reason)


def _error_info(error: Any, domain: str) -> tuple[str, str] | None:
    """(reason, capability) of the first google.rpc.ErrorInfo of the domain in the call's
    grpc-status-details-bin trailer (a google.rpc.Status), or None."""
    trailers = error.trailing_metadata() if callable(getattr(error, "trailing_metadata", None)) else None
    for key, value in trailers or ():
        if key != "grpc-status-details-bin" or not isinstance(value, bytes):
            continue
        try:
            for field, any_bytes in _fields(value):
                if field != 3 or not isinstance(any_bytes, bytes):
                    continue
                any_fields = dict(_fields(any_bytes))
                if any_fields.get(1) != b"type.googleapis.com/google.rpc.ErrorInfo":
                    continue
                info_bytes = any_fields.get(2, b"")
                reason, info_domain, capability = "", "", ""
                for info_field, info_value in _fields(info_bytes if isinstance(info_bytes, bytes) else b""):
                    if not isinstance(info_value, bytes):
                        continue
                    if info_field == 1:
                        reason = info_value.decode()
                    elif info_field == 2:
                        info_domain = info_value.decode()
                    elif info_field == 3:
                        entry = dict(_fields(info_value))
                        if entry.get(1) == b"capability" and isinstance(entry.get(2), bytes):
                            capability = bytes(entry[2]).decode()
                if info_domain == domain:
                    return reason, capability
        except (ValueError, UnicodeDecodeError):
            return None
    return None


def _fields(data: bytes) -> list[tuple[int, bytes | int]]:
    """The fields of a protobuf message: (number, bytes) for length-delimited ones, (number, int) for varints."""
    out: list[tuple[int, bytes | int]] = []
    at = 0

    def varint() -> int:
        nonlocal at
        value, shift = 0, 0
        while True:
            if at >= len(data) or shift > 63:
                raise ValueError("truncated varint")
            byte = data[at]
            at += 1
            value |= (byte & 0x7F) << shift
            shift += 7
            if byte < 0x80:
                return value

    while at < len(data):
        tag = varint()
        field, wire = tag >> 3, tag & 7
        if wire == 0:
            out.append((field, varint()))
        elif wire == 2:
            length = varint()
            if at + length > len(data):
                raise ValueError("truncated field")
            out.append((field, data[at : at + length]))
            at += length
        elif wire == 1:
            at += 8
        elif wire == 5:
            at += 4
        else:
            raise ValueError(f"wire type {wire}")
    return out
