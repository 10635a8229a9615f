"""The hand-written code the generated clients call: errors, calls, streams, leases.

The asyncio counterparts are in ottavo._support.aio."""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterable, Iterator
from typing import Any, Generic, TypeVar

import grpc

from ottavo._support.errors import (
    Aborted,
    AlreadyExists,
    Cancelled,
    DataLoss,
    DeadlineExceeded,
    FailedPrecondition,
    Internal,
    InvalidArgument,
    NotFound,
    OttavoError,
    OutOfRange,
    PermissionDenied,
    ResourceExhausted,
    Unauthenticated,
    Unavailable,
    Unimplemented,
    Unknown,
    classify,
)

__all__ = [
    "Aborted", "AlreadyExists", "Cancelled", "DataLoss", "DeadlineExceeded", "FailedPrecondition", "Internal",
    "InvalidArgument", "NotFound", "OttavoError", "OutOfRange", "PermissionDenied", "ResourceExhausted",
    "Unauthenticated", "Unavailable", "Unimplemented", "Unknown", "classify",
    "call", "download", "upload", "Subscription", "TopicSubscription", "TopicMessage", "Lease", "to_bytes",
]

T = TypeVar("T")

#: Chunks sent per message on upload, well under gRPC's 4 MiB limit.
UPLOAD_CHUNK = 64 * 1024


def to_bytes(value: bytes | str) -> bytes:
    """Text is sent as UTF-8."""
    return value.encode() if isinstance(value, str) else value


def call(capability: str | None, rpc: Callable[..., Any], request: Any, timeout: float | None) -> Any:
    """One unary call; its failure becomes the capability's typed error."""
    try:
        return rpc(request, timeout=timeout)
    except grpc.RpcError as error:
        raise classify(capability, error) from error


def download(capability: str, responses: Iterable[Any]) -> Iterator[bytes]:
    """A server stream of chunks as an iterator of bytes."""
    try:
        for message in responses:
            yield message.data
    except grpc.RpcError as error:
        raise classify(capability, error) from error


def chunks_of(data: bytes | Iterable[bytes]) -> Iterator[bytes]:
    if isinstance(data, (bytes, bytearray)):
        for at in range(0, len(data), UPLOAD_CHUNK):
            yield bytes(data[at : at + UPLOAD_CHUNK])
        return
    for chunk in data:
        if chunk:
            yield chunk


def upload(capability: str, rpc: Callable[..., Any], first: Any, data: bytes | Iterable[bytes], chunk_message: Callable[[bytes], Any], timeout: float | None) -> None:
    """A client stream: the first message carries the names and options, every one a chunk."""

    def messages() -> Iterator[Any]:
        sent = False
        for chunk in chunks_of(data):
            if not sent:
                first.data = chunk
                sent = True
                yield first
            else:
                yield chunk_message(chunk)
        if not sent:
            yield first

    call(capability, rpc, messages(), timeout)


class _Outbox:
    """The request side of a bidi stream: messages put() until close()."""

    _END = object()

    def __init__(self) -> None:
        self._queue: queue.Queue[Any] = queue.Queue()

    def put(self, message: Any) -> None:
        self._queue.put(message)

    def close(self) -> None:
        self._queue.put(self._END)

    def __iter__(self) -> Iterator[Any]:
        while True:
            message = self._queue.get()
            if message is self._END:
                return
            yield message


class Subscription(Generic[T]):
    """A watch over a bidi stream: iterate it for each change; close() ends it. With `confirm`
    (the request header that asks the runtime to confirm, and the test for its confirmation),
    it is returned once the runtime confirmed the subscription, so a change made afterwards
    is delivered; confirmations are not."""

    def __init__(
        self,
        capability: str,
        rpc: Callable[..., Any],
        request: Any,
        timeout: float | None,
        confirm: tuple[str, Callable[[Any], bool]] | None = None,
    ) -> None:
        self._capability = capability
        self._outbox = _Outbox()
        self._outbox.put(request)
        metadata = ((confirm[0], "true"),) if confirm is not None else None
        self._call: Any = rpc(iter(self._outbox), timeout=timeout, metadata=metadata)
        self._responses: Iterator[Any] = iter(self._call)
        self._confirms = confirm[1] if confirm is not None else None
        self._early: list[Any] = []
        self._closed = False
        if self._confirms is not None:
            try:
                for response in self._responses:
                    if self._confirms(response):
                        return
                    self._early.append(response)
            except grpc.RpcError as error:
                raise classify(capability, error) from error
            raise Unknown(grpc.StatusCode.UNKNOWN, "the runtime ended the subscription before confirming it", capability)

    def __iter__(self) -> Iterator[T]:
        while self._early:
            yield self._early.pop(0)
        try:
            for response in self._responses:
                if self._confirms is None or not self._confirms(response):
                    yield response
        except grpc.RpcError as error:
            if not self._closed:
                raise classify(self._capability, error) from error

    def close(self) -> None:
        self._closed = True
        self._outbox.close()
        self._call.cancel()

    def __enter__(self) -> Subscription[T]:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class TopicMessage:
    """One delivered message; settle it with success(), retry() or drop(). Unsettled ones are redelivered."""

    def __init__(self, event: Any, settle: Callable[[str, int], None]) -> None:
        self.event = event
        self.data: bytes = event.data
        self._settle = settle

    def success(self) -> None:
        self._settle(self.event.id, 0)

    def retry(self) -> None:
        self._settle(self.event.id, 1)

    def drop(self) -> None:
        self._settle(self.event.id, 2)


class TopicSubscription:
    """A streaming subscription to a topic (SubscribeTopicEvents); returned once the runtime confirmed it."""

    def __init__(self, capability: str, rpc: Callable[..., Any], initial: Any, timeout: float | None) -> None:
        from ottavo.runtimev1 import appcallback_pb2, runtime_pb2

        self._capability = capability
        self._outbox = _Outbox()
        self._closed = False
        self._request = runtime_pb2.SubscribeTopicEventsRequest
        self._processed = runtime_pb2.SubscribeTopicEventsRequestProcessed
        self._status = appcallback_pb2.TopicEventResponse
        self._outbox.put(self._request(initial_request=initial))
        self._call: Any = rpc(iter(self._outbox), timeout=timeout)
        self._responses: Iterator[Any] = iter(self._call)
        self._lock = threading.Lock()
        try:
            first = next(self._responses)
        except grpc.RpcError as error:
            raise classify(capability, error) from error
        if not first.HasField("initial_response"):
            raise Unknown(grpc.StatusCode.UNKNOWN, "the runtime answered a subscription without its initial response", capability)

    def _settle(self, id: str, status: int) -> None:
        with self._lock:
            self._outbox.put(self._request(event_processed=self._processed(id=id, status=self._status(status=status))))  # type: ignore[arg-type]

    def __iter__(self) -> Iterator[TopicMessage]:
        try:
            for response in self._responses:
                if response.HasField("event_message"):
                    yield TopicMessage(response.event_message, self._settle)
        except grpc.RpcError as error:
            if not self._closed:
                raise classify(self._capability, error) from error

    def close(self) -> None:
        self._closed = True
        self._outbox.close()
        self._call.cancel()

    def __enter__(self) -> TopicSubscription:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class Lease:
    """The answer of lock.try_lock: truthy when the lock was taken; a context manager that unlocks on exit.

    with client.lock.try_lock("lock_demo", "orders", "me", 30) as lease:
        if lease:
            ...
    """

    def __init__(self, acquired: bool, capability: str, unlock_rpc: Callable[..., Any], release: Any) -> None:
        self.acquired = acquired
        self._capability = capability
        self._unlock = unlock_rpc
        self._release = release
        self._released = False

    def __bool__(self) -> bool:
        return self.acquired

    def unlock(self) -> int | None:
        """Releases the lock if this lease holds it; the runtime's unlock status (0 is SUCCESS), or None."""
        if not self.acquired or self._released:
            return None
        self._released = True
        status: int = call(self._capability, self._unlock, self._release, None).status
        return status

    def __enter__(self) -> Lease:
        return self

    def __exit__(self, *exc: object) -> None:
        self.unlock()
