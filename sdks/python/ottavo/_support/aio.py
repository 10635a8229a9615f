"""The asyncio counterparts of ottavo._support, for AsyncClient (grpc.aio)."""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterable
from typing import Any, Generic, TypeVar

import grpc

from ottavo._support import TopicMessage, chunks_of
from ottavo._support.errors import Unknown, classify

T = TypeVar("T")


async def call(capability: str | None, rpc: Callable[..., Any], request: Any, timeout: float | None) -> Any:
    try:
        return await rpc(request, timeout=timeout)
    except grpc.RpcError as error:
        raise classify(capability, error) from error


async def download(capability: str, responses: AsyncIterable[Any]) -> AsyncIterator[bytes]:
    try:
        async for message in responses:
            yield message.data
    except grpc.RpcError as error:
        raise classify(capability, error) from error


async def upload(capability: str, rpc: Callable[..., Any], first: Any, data: bytes | Iterable[bytes] | AsyncIterable[bytes], chunk_message: Callable[[bytes], Any], timeout: float | None) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        if isinstance(data, AsyncIterable):
            async for chunk in data:
                if chunk:
                    yield chunk
        else:
            for chunk in chunks_of(data):
                yield chunk

    async def messages() -> AsyncIterator[Any]:
        sent = False
        async for chunk in chunks():
            if not sent:
                first.data = chunk
                sent = True
                yield first
            else:
                yield chunk_message(chunk)
        if not sent:
            yield first

    await call(capability, rpc, messages(), timeout)


class AsyncSubscription(Generic[T]):
    """A watch over a bidi stream: `async for` each change; close() ends it. With `confirm`
    (the request header that asks the runtime to confirm, and the test for its confirmation),
    `async with` it (or await start()): entering waits until the runtime confirmed the
    subscription, so a change made afterwards is delivered; confirmations are not."""

    def __init__(
        self,
        capability: str,
        rpc: Callable[..., Any],
        request: Any,
        timeout: float | None,
        confirm: tuple[str, Callable[[Any], bool]] | None = None,
    ) -> None:
        self._capability = capability
        metadata = ((confirm[0], "true"),) if confirm is not None else None
        self._call: Any = rpc(timeout=timeout, metadata=metadata)
        self._request = request
        self._confirms = confirm[1] if confirm is not None else None
        self._early: list[Any] = []
        self._started = False
        self._closed = False

    async def start(self) -> None:
        """Subscribes and, when the runtime confirms subscriptions, waits for its confirmation."""
        if self._started:
            return
        self._started = True
        try:
            await self._call.write(self._request)
            while self._confirms is not None:
                response = await self._call.read()
                if response is grpc.aio.EOF:  # type: ignore[attr-defined]
                    raise Unknown(grpc.StatusCode.UNKNOWN, "the runtime ended the subscription before confirming it", self._capability)
                if self._confirms(response):
                    return
                self._early.append(response)
        except grpc.RpcError as error:
            raise classify(self._capability, error) from error

    async def __aiter__(self) -> AsyncIterator[T]:
        await self.start()
        while self._early:
            yield self._early.pop(0)
        try:
            while True:
                response = await self._call.read()
                if response is grpc.aio.EOF:  # type: ignore[attr-defined]
                    return
                if self._confirms is None or not self._confirms(response):
                    yield response
        except grpc.RpcError as error:
            if not self._closed:
                raise classify(self._capability, error) from error

    def close(self) -> None:
        self._closed = True
        self._call.cancel()

    async def __aenter__(self) -> AsyncSubscription[T]:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.close()


class AsyncTopicSubscription:
    """A streaming subscription to a topic; `async with` it: entering waits until the runtime confirmed it."""

    def __init__(self, capability: str, rpc: Callable[..., Any], initial: Any, timeout: float | None) -> None:
        from ottavo.runtimev1 import appcallback_pb2, runtime_pb2

        self._capability = capability
        self._call: Any = rpc(timeout=timeout)
        self._initial = initial
        self._request = runtime_pb2.SubscribeTopicEventsRequest
        self._processed = runtime_pb2.SubscribeTopicEventsRequestProcessed
        self._status = appcallback_pb2.TopicEventResponse
        self._started = False
        self._closed = False
        self._pending: list[Any] = []

    async def start(self) -> None:
        """Subscribes and waits for the runtime's confirmation."""
        if self._started:
            return
        self._started = True
        try:
            await self._call.write(self._request(initial_request=self._initial))
            first = await self._call.read()
        except grpc.RpcError as error:
            raise classify(self._capability, error) from error
        eof = grpc.aio.EOF  # type: ignore[attr-defined]
        if first is eof or not first.HasField("initial_response"):
            raise Unknown(grpc.StatusCode.UNKNOWN, "the runtime answered a subscription without its initial response", self._capability)

    def _settle(self, id: str, status: int) -> None:
        # TopicMessage's settle is synchronous; the write is queued and flushed by the reader.
        self._pending.append(self._request(event_processed=self._processed(id=id, status=self._status(status=status))))  # type: ignore[arg-type]

    async def __aiter__(self) -> AsyncIterator[TopicMessage]:
        await self.start()
        try:
            while True:
                while self._pending:
                    await self._call.write(self._pending.pop(0))
                response = await self._call.read()
                if response is grpc.aio.EOF:  # type: ignore[attr-defined]
                    return
                if response.HasField("event_message"):
                    yield TopicMessage(response.event_message, self._settle)
        except grpc.RpcError as error:
            if not self._closed:
                raise classify(self._capability, error) from error

    async def flush(self) -> None:
        """Sends the outcomes settled since the last read."""
        while self._pending:
            await self._call.write(self._pending.pop(0))

    def close(self) -> None:
        self._closed = True
        self._call.cancel()

    async def __aenter__(self) -> AsyncTopicSubscription:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.flush()
        self.close()


class AsyncLease:
    """The answer of AsyncClient.lock.try_lock: truthy when taken; `async with` unlocks on exit."""

    def __init__(self, acquired: bool, capability: str, unlock_rpc: Callable[..., Any], release: Any) -> None:
        self.acquired = acquired
        self._capability = capability
        self._unlock = unlock_rpc
        self._release = release
        self._released = False

    def __bool__(self) -> bool:
        return self.acquired

    async def unlock(self) -> int | None:
        if not self.acquired or self._released:
            return None
        self._released = True
        status: int = (await call(self._capability, self._unlock, self._release, None)).status
        return status

    async def __aenter__(self) -> AsyncLease:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.unlock()
