"""How a failed call becomes a typed error, for every declared error of spec/components,
including those no scenario can provoke on the scenario runtime (FileAlreadyExists: no file
operation the spec declares refuses to replace a file). Run by sdks/test/python-sdk.test.ts."""

from __future__ import annotations

import unittest
from typing import Any

import grpc

import ottavo
from ottavo._support.errors import STATUS_CLASSES, classify
from ottavo.errors_gen import ERROR_INFO_DOMAIN, ERRORS_BY_REASON


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        if n:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _field(number: int, value: bytes) -> bytes:
    return _varint(number << 3 | 2) + _varint(len(value)) + value


def error_info(reason: str, domain: str, metadata: dict[str, str]) -> bytes:
    """A google.rpc.ErrorInfo in a google.protobuf.Any, as a google.rpc.Status detail (field 3)."""
    info = _field(1, reason.encode()) + _field(2, domain.encode())
    for key, value in metadata.items():
        info += _field(3, _field(1, key.encode()) + _field(2, value.encode()))
    return _field(3, _field(1, b"type.googleapis.com/google.rpc.ErrorInfo") + _field(2, info))


class FakeRpcError(grpc.RpcError):
    """What grpcio raises, as far as classify reads it."""

    def __init__(self, code: grpc.StatusCode, details: bytes = b"") -> None:
        self._code = code
        self._status = _varint(1 << 3) + _varint(code.value[0]) + _field(2, b"the runtime's message") + details

    def code(self) -> grpc.StatusCode:
        return self._code

    def details(self) -> str:
        return "the runtime's message"

    def trailing_metadata(self) -> Any:
        return (("grpc-status-details-bin", self._status),) if self._status else ()


class ClassifyTest(unittest.TestCase):
    def test_every_declared_error_by_its_error_info(self) -> None:
        names = []
        for capability, table in ERRORS_BY_REASON.items():
            for reason, cls in table.items():
                code = next(c for c, base in STATUS_CLASSES.items() if issubclass(cls, base))
                error = classify("hello", FakeRpcError(code, error_info(reason, ERROR_INFO_DOMAIN, {"capability": capability})))
                self.assertIs(type(error), cls)
                self.assertEqual((error.code, error.message, error.capability, error.reason), (code, "the runtime's message", "hello", reason))
                names.append(cls.__name__)
        self.assertEqual(sorted(names), [
            "EtagInvalid", "EtagMismatch", "FileAlreadyExists", "FileNotFound", "FilePermissionDenied", "InvalidName",
            "ResolverUnavailable", "SecretNotFound", "TopicNotFound", "Unreachable", "UnsupportedOperation",
        ])

    def test_a_shared_error_is_its_status_class(self) -> None:
        error = classify("secret", FakeRpcError(grpc.StatusCode.NOT_FOUND, error_info("NotFound", ERROR_INFO_DOMAIN, {})))
        self.assertIs(type(error), ottavo.NotFound)
        self.assertEqual(error.reason, "NotFound")

    def test_without_error_info_the_status_names_it_where_it_can(self) -> None:
        self.assertIs(type(classify("secret", FakeRpcError(grpc.StatusCode.NOT_FOUND))), ottavo.SecretNotFound)
        foreign = classify("state", FakeRpcError(grpc.StatusCode.INVALID_ARGUMENT, error_info("EtagInvalid", "dapr.io", {"capability": "state"})))
        self.assertIs(type(foreign), ottavo.InvalidArgument)
        self.assertIsNone(foreign.reason)
        garbled = FakeRpcError(grpc.StatusCode.INVALID_ARGUMENT, _field(3, b"\xff"))
        self.assertIs(type(classify("state", garbled)), ottavo.InvalidArgument)


if __name__ == "__main__":
    unittest.main()
