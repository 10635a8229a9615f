"""The Python runner of sdks/scenarios/scenarios.json, once with ottavo.Client and once with
ottavo.AsyncClient: each scenario written as an app would write it. The runtime is started
by the test tooling, which runs this with OTTAVO_GRPC_ENDPOINT set (sdks/test/python-sdk.test.ts).
Prints one line per scenario and "N passed, N failed"; exits non-zero on any failure."""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import sys
import time
import traceback
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import ottavo
from ottavo.runtimev1 import runtime_pb2

Scenario = dict[str, Any]
TABLE = json.loads((Path(__file__).parent.parent.parent / "scenarios" / "scenarios.json").read_text())["scenarios"]


def blob(size: int) -> bytes:
    return bytes((i * 31 + (i >> 8)) & 0xFF for i in range(size))


def check_error(error: ottavo.OttavoError, e: dict[str, Any]) -> None:
    """The error is the expected typed class (ottavo.EtagInvalid, ...), exactly, with the expected status."""
    cls = getattr(ottavo, e["error"])
    assert isinstance(error, cls) and type(error).__name__ == e["error"], f"got {type(error).__name__}: {error}, want {e['error']}"
    assert error.code.name == e["status"], f"got {error.code.name}, want {e['status']}"


def expect_error(e: dict[str, Any], call: Callable[[], object]) -> None:
    try:
        call()
    except ottavo.OttavoError as error:
        check_error(error, e)
        return
    raise AssertionError(f"no {e['error']} raised")


async def expect_error_async(e: dict[str, Any], call: Callable[[], Awaitable[object]]) -> None:
    try:
        await call()
    except ottavo.OttavoError as error:
        check_error(error, e)
        return
    raise AssertionError(f"no {e['error']} raised")


def sync_scenarios(c: ottavo.Client) -> dict[str, Callable[[dict[str, Any], dict[str, Any]], None]]:
    def hello(i: dict[str, Any], e: dict[str, Any]) -> None:
        assert c.hello.say_hello(i["service"], i["name"]) == e["hello"]

    def state_round_trip(i: dict[str, Any], e: dict[str, Any]) -> None:
        c.state.save(i["store"], {i["key"]: i["value"]})
        got = c.state.get(i["store"], i["key"])
        assert got.data.decode() == i["value"] and got.etag == e["etag"], got
        c.state.delete(i["store"], i["key"], etag=got.etag)
        assert c.state.get(i["store"], i["key"]).data == b""

    def state_etag_conflict(i: dict[str, Any], e: dict[str, Any]) -> None:
        c.state.save(i["store"], {i["key"]: i["first"]})
        etag = c.state.get(i["store"], i["key"]).etag
        c.state.save(i["store"], {i["key"]: i["second"]}, etag=etag)
        expect_error(e, lambda: c.state.save(i["store"], {i["key"]: i["stale"]}, etag=etag))
        assert c.state.get(i["store"], i["key"]).data.decode() == e["value"]

    def state_bulk(i: dict[str, Any], e: dict[str, Any]) -> None:
        items: dict[str, str] = i["items"]
        c.state.save(i["store"], items)
        read = {item.key: item.data.decode() for item in c.state.get_bulk(i["store"], [*items, i["missing"]])}
        assert read == {**items, i["missing"]: ""}, read
        c.state.delete_bulk(i["store"], list(items))
        assert all(item.data.decode() == e["afterDelete"] for item in c.state.get_bulk(i["store"], list(items)))

    def state_transaction(i: dict[str, Any], e: dict[str, Any]) -> None:
        c.state.save(i["store"], {i["drop"]: "to be deleted"})
        c.state.transact(i["store"], [
            runtime_pb2.TransactionalStateOperation(operationType="upsert", request=runtime_pb2.StateItem(key=i["keep"], value=i["value"].encode())),
            runtime_pb2.TransactionalStateOperation(operationType="delete", request=runtime_pb2.StateItem(key=i["drop"])),
        ])
        assert c.state.get(i["store"], i["keep"]).data.decode() == i["value"]
        assert c.state.get(i["store"], i["drop"]).data.decode() == e["dropped"]

    def lock_contention(i: dict[str, Any], e: dict[str, Any]) -> None:
        a, b = i["owners"]
        with ottavo.Client() as other:
            first = c.lock.try_lock(i["store"], i["resource"], a, i["expireSeconds"])
            assert first
            with other.lock.try_lock(i["store"], i["resource"], b, i["expireSeconds"]) as refused:
                assert not refused
            assert first.unlock() == e["unlockStatus"]
            with other.lock.try_lock(i["store"], i["resource"], b, i["expireSeconds"]) as second:
                assert second
        with c.lock.try_lock(i["store"], i["resource"], a, i["expireSeconds"]) as again:
            assert again, "the with block released the lock"

    def sequencer(i: dict[str, Any], e: dict[str, Any]) -> None:
        ids = [c.sequencer.next_id(i["store"], i["key"]) for _ in range(e["count"])]
        assert ids == sorted(set(ids)), ids

    def configuration_subscribe(i: dict[str, Any], e: dict[str, Any]) -> None:
        c.configuration.save(i["store"], [runtime_pb2.ConfigurationItem(key=i["key"], content=i["first"])])
        assert [item.content for item in c.configuration.get(i["store"], [i["key"]])] == [i["first"]]
        received: list[str] = []
        # subscribe() returns once the runtime confirmed the subscription: the save below is delivered.
        with c.configuration.subscribe(i["store"], [i["key"]]) as sub:
            c.configuration.save(i["store"], [runtime_pb2.ConfigurationItem(key=i["key"], content=i["changed"])])
            for change in sub:
                received.extend(item.content for item in change.items)
                break
        assert received == [i["changed"]], received

    def pubsub_stream(i: dict[str, Any], e: dict[str, Any]) -> None:
        with c.pubsub.subscribe(i["pubsub"], i["topic"]) as sub:
            c.pubsub.publish(i["pubsub"], i["topic"], i["data"])
            for message in sub:
                assert message.data.decode() == i["data"] and message.event.topic == i["topic"]
                message.success()
                break

    def file_round_trip(i: dict[str, Any], e: dict[str, Any]) -> None:
        content = blob(i["sizeBytes"])
        c.file.put(i["store"], i["name"], (content[at : at + 256 * 1024] for at in range(0, len(content), 256 * 1024)))
        read = b"".join(c.file.get(i["store"], i["name"]))
        assert hashlib.sha256(read).digest() == hashlib.sha256(content).digest()
        assert c.file.stat(i["store"], i["name"]).size == len(content)
        assert any(f.file_name.endswith("blob.bin") for f in c.file.list(i["store"], i["dir"]).files)
        c.file.delete(i["store"], i["name"])
        expect_error(e, lambda: b"".join(c.file.get(i["store"], i["name"])))

    def secrets(i: dict[str, Any], e: dict[str, Any]) -> None:
        assert c.secret.get(i["store"], i["key"]) == {i["key"]: e["value"]}
        assert c.secret.get_bulk(i["store"])[i["key"]].secrets[i["key"]] == e["value"]
        expect_error(e, lambda: c.secret.get(i["store"], i["missing"]))

    def binding(i: dict[str, Any], e: dict[str, Any]) -> None:
        assert c.binding.invoke(i["name"], i["operation"], i["data"]).data.decode() == e["data"]

    def invoke(i: dict[str, Any], e: dict[str, Any]) -> None:
        resp = c.invoke(i["app"], i["method"], i["data"], content_type=i["contentType"])
        assert resp.data.value.decode() == e["data"] and resp.content_type == e["contentType"], resp

    def error_unknown_store(i: dict[str, Any], e: dict[str, Any]) -> None:
        expect_error(e, lambda: c.state.get(i["store"], i["key"]))

    def error_etag_invalid(i: dict[str, Any], e: dict[str, Any]) -> None:
        expect_error(e, lambda: c.state.save(i["store"], {i["key"]: i["value"]}, etag=i["etag"]))

    def error_file_invalid_name(i: dict[str, Any], e: dict[str, Any]) -> None:
        expect_error(e, lambda: c.file.stat(i["store"], i["name"]))

    def error_file_permission_denied(i: dict[str, Any], e: dict[str, Any]) -> None:
        expect_error(e, lambda: c.file.delete(i["store"], i["name"]))

    def error_topic_not_found(i: dict[str, Any], e: dict[str, Any]) -> None:
        expect_error(e, lambda: c.pubsub.publish(i["pubsub"], i["topic"], i["data"]))

    def error_binding(i: dict[str, Any], e: dict[str, Any]) -> None:
        expect_error(e, lambda: c.binding.invoke(i["name"], i["operation"], i["data"]))

    def error_invoke_own_app(i: dict[str, Any], e: dict[str, Any]) -> None:
        expect_error(e, lambda: c.invoke(i["app"], i["method"], i["data"]))

    return {
        "hello": hello, "state-round-trip": state_round_trip, "state-etag-conflict": state_etag_conflict,
        "state-bulk": state_bulk, "state-transaction": state_transaction, "lock-contention": lock_contention,
        "sequencer": sequencer, "configuration-subscribe": configuration_subscribe, "pubsub-stream": pubsub_stream,
        "file-round-trip": file_round_trip, "secrets": secrets, "binding": binding, "invoke": invoke,
        "error-unknown-store": error_unknown_store, "error-etag-invalid": error_etag_invalid,
        "error-file-invalid-name": error_file_invalid_name, "error-topic-not-found": error_topic_not_found,
        "error-binding-unsupported-operation": error_binding, "error-binding-unreachable": error_binding,
        "error-invoke-own-app": error_invoke_own_app, "error-invoke-resolver-unavailable": error_invoke_own_app,
        "error-file-permission-denied": error_file_permission_denied,
    }


def async_scenarios(c: ottavo.AsyncClient) -> dict[str, Callable[[dict[str, Any], dict[str, Any]], Awaitable[None]]]:
    async def hello(i: dict[str, Any], e: dict[str, Any]) -> None:
        assert await c.hello.say_hello(i["service"], i["name"]) == e["hello"]

    async def state_round_trip(i: dict[str, Any], e: dict[str, Any]) -> None:
        await c.state.save(i["store"], {i["key"]: i["value"]})
        got = await c.state.get(i["store"], i["key"])
        assert got.data.decode() == i["value"] and got.etag == e["etag"], got
        await c.state.delete(i["store"], i["key"], etag=got.etag)
        assert (await c.state.get(i["store"], i["key"])).data == b""

    async def state_etag_conflict(i: dict[str, Any], e: dict[str, Any]) -> None:
        await c.state.save(i["store"], {i["key"]: i["first"]})
        etag = (await c.state.get(i["store"], i["key"])).etag
        await c.state.save(i["store"], {i["key"]: i["second"]}, etag=etag)
        await expect_error_async(e, lambda: c.state.save(i["store"], {i["key"]: i["stale"]}, etag=etag))
        assert (await c.state.get(i["store"], i["key"])).data.decode() == e["value"]

    async def state_bulk(i: dict[str, Any], e: dict[str, Any]) -> None:
        items: dict[str, str] = i["items"]
        await c.state.save(i["store"], items)
        read = {item.key: item.data.decode() for item in await c.state.get_bulk(i["store"], [*items, i["missing"]])}
        assert read == {**items, i["missing"]: ""}, read
        await c.state.delete_bulk(i["store"], list(items))
        assert all(item.data.decode() == e["afterDelete"] for item in await c.state.get_bulk(i["store"], list(items)))

    async def state_transaction(i: dict[str, Any], e: dict[str, Any]) -> None:
        await c.state.save(i["store"], {i["drop"]: "to be deleted"})
        await c.state.transact(i["store"], [
            runtime_pb2.TransactionalStateOperation(operationType="upsert", request=runtime_pb2.StateItem(key=i["keep"], value=i["value"].encode())),
            runtime_pb2.TransactionalStateOperation(operationType="delete", request=runtime_pb2.StateItem(key=i["drop"])),
        ])
        assert (await c.state.get(i["store"], i["keep"])).data.decode() == i["value"]
        assert (await c.state.get(i["store"], i["drop"])).data.decode() == e["dropped"]

    async def lock_contention(i: dict[str, Any], e: dict[str, Any]) -> None:
        a, b = i["owners"]
        async with ottavo.AsyncClient() as other:
            first = await c.lock.try_lock(i["store"], i["resource"], a, i["expireSeconds"])
            assert first
            async with await other.lock.try_lock(i["store"], i["resource"], b, i["expireSeconds"]) as refused:
                assert not refused
            assert await first.unlock() == e["unlockStatus"]
            async with await other.lock.try_lock(i["store"], i["resource"], b, i["expireSeconds"]) as second:
                assert second
        async with await c.lock.try_lock(i["store"], i["resource"], a, i["expireSeconds"]) as again:
            assert again

    async def sequencer(i: dict[str, Any], e: dict[str, Any]) -> None:
        ids = [await c.sequencer.next_id(i["store"], i["key"]) for _ in range(e["count"])]
        assert ids == sorted(set(ids)), ids

    async def configuration_subscribe(i: dict[str, Any], e: dict[str, Any]) -> None:
        await c.configuration.save(i["store"], [runtime_pb2.ConfigurationItem(key=i["key"], content=i["first"])])
        assert [item.content for item in await c.configuration.get(i["store"], [i["key"]])] == [i["first"]]
        # Entering waits until the runtime confirmed the subscription: the save below is delivered.
        async with c.configuration.subscribe(i["store"], [i["key"]]) as sub:
            await c.configuration.save(i["store"], [runtime_pb2.ConfigurationItem(key=i["key"], content=i["changed"])])
            async for change in sub:
                assert [item.content for item in change.items] == [i["changed"]]
                break

    async def pubsub_stream(i: dict[str, Any], e: dict[str, Any]) -> None:
        async with c.pubsub.subscribe(i["pubsub"], i["topic"]) as sub:
            await c.pubsub.publish(i["pubsub"], i["topic"], i["data"])
            async for message in sub:
                assert message.data.decode() == i["data"] and message.event.topic == i["topic"]
                message.success()
                break

    async def file_round_trip(i: dict[str, Any], e: dict[str, Any]) -> None:
        content = blob(i["sizeBytes"])
        await c.file.put(i["store"], i["name"], content)
        read = b"".join([chunk async for chunk in c.file.get(i["store"], i["name"])])
        assert hashlib.sha256(read).digest() == hashlib.sha256(content).digest()
        assert (await c.file.stat(i["store"], i["name"])).size == len(content)
        assert any(f.file_name.endswith("blob.bin") for f in (await c.file.list(i["store"], i["dir"])).files)
        await c.file.delete(i["store"], i["name"])

        async def read_again() -> object:
            return [chunk async for chunk in c.file.get(i["store"], i["name"])]
        await expect_error_async(e, read_again)

    async def secrets(i: dict[str, Any], e: dict[str, Any]) -> None:
        assert await c.secret.get(i["store"], i["key"]) == {i["key"]: e["value"]}
        assert (await c.secret.get_bulk(i["store"]))[i["key"]].secrets[i["key"]] == e["value"]
        await expect_error_async(e, lambda: c.secret.get(i["store"], i["missing"]))

    async def binding(i: dict[str, Any], e: dict[str, Any]) -> None:
        assert (await c.binding.invoke(i["name"], i["operation"], i["data"])).data.decode() == e["data"]

    async def invoke(i: dict[str, Any], e: dict[str, Any]) -> None:
        resp = await c.invoke(i["app"], i["method"], i["data"], content_type=i["contentType"])
        assert resp.data.value.decode() == e["data"] and resp.content_type == e["contentType"], resp

    async def error_unknown_store(i: dict[str, Any], e: dict[str, Any]) -> None:
        await expect_error_async(e, lambda: c.state.get(i["store"], i["key"]))

    async def error_etag_invalid(i: dict[str, Any], e: dict[str, Any]) -> None:
        await expect_error_async(e, lambda: c.state.save(i["store"], {i["key"]: i["value"]}, etag=i["etag"]))

    async def error_file_invalid_name(i: dict[str, Any], e: dict[str, Any]) -> None:
        await expect_error_async(e, lambda: c.file.stat(i["store"], i["name"]))

    async def error_file_permission_denied(i: dict[str, Any], e: dict[str, Any]) -> None:
        await expect_error_async(e, lambda: c.file.delete(i["store"], i["name"]))

    async def error_topic_not_found(i: dict[str, Any], e: dict[str, Any]) -> None:
        await expect_error_async(e, lambda: c.pubsub.publish(i["pubsub"], i["topic"], i["data"]))

    async def error_binding(i: dict[str, Any], e: dict[str, Any]) -> None:
        await expect_error_async(e, lambda: c.binding.invoke(i["name"], i["operation"], i["data"]))

    async def error_invoke_own_app(i: dict[str, Any], e: dict[str, Any]) -> None:
        await expect_error_async(e, lambda: c.invoke(i["app"], i["method"], i["data"]))

    return {
        "hello": hello, "state-round-trip": state_round_trip, "state-etag-conflict": state_etag_conflict,
        "state-bulk": state_bulk, "state-transaction": state_transaction, "lock-contention": lock_contention,
        "sequencer": sequencer, "configuration-subscribe": configuration_subscribe, "pubsub-stream": pubsub_stream,
        "file-round-trip": file_round_trip, "secrets": secrets, "binding": binding, "invoke": invoke,
        "error-unknown-store": error_unknown_store, "error-etag-invalid": error_etag_invalid,
        "error-file-invalid-name": error_file_invalid_name, "error-topic-not-found": error_topic_not_found,
        "error-binding-unsupported-operation": error_binding, "error-binding-unreachable": error_binding,
        "error-invoke-own-app": error_invoke_own_app, "error-invoke-resolver-unavailable": error_invoke_own_app,
        "error-file-permission-denied": error_file_permission_denied,
    }


def main() -> int:
    if not os.environ.get("OTTAVO_GRPC_ENDPOINT"):
        print("OTTAVO_GRPC_ENDPOINT is not set: the scenarios run against a runtime the test tooling starts", file=sys.stderr)
        return 2
    ids = {s["id"] for s in TABLE}
    passed = failed = 0

    def report(kind: str, scenario: Scenario, error: BaseException | None, started: float) -> None:
        nonlocal passed, failed
        if error is None:
            passed += 1
            print(f"PASS {kind} {scenario['id']}")
        else:
            failed += 1
            print(f"FAIL {kind} {scenario['id']}: {error!r}")
            traceback.print_exception(error)

    with ottavo.Client() as client:
        table = sync_scenarios(client)
        if set(table) != ids:
            print(f"FAIL the sync runner covers {sorted(set(table) ^ ids)} differently from the table")
            failed += 1
        for scenario in TABLE:
            started = time.monotonic()
            try:
                table[scenario["id"]](scenario["input"], scenario["expect"])
                report("sync", scenario, None, started)
            except BaseException as error:  # noqa: BLE001 - every failure is reported
                report("sync", scenario, error, started)

    async def run_async() -> None:
        async with ottavo.AsyncClient() as client:
            table = async_scenarios(client)
            nonlocal failed
            if set(table) != ids:
                print(f"FAIL the asyncio runner covers {sorted(set(table) ^ ids)} differently from the table")
                failed += 1
            for scenario in TABLE:
                started = time.monotonic()
                try:
                    await asyncio.wait_for(table[scenario["id"]](scenario["input"], scenario["expect"]), 30)
                    report("asyncio", scenario, None, started)
                except BaseException as error:  # noqa: BLE001
                    report("asyncio", scenario, error, started)

    asyncio.run(run_async())
    print(f"{passed} passed, {failed} failed")
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
