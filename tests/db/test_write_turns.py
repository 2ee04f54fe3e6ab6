"""SQLite write turns: first come, first served, across event loops, never blocking one."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

from sqlalchemy import text

from app.db.session import create_engine, reader
from app.db.write_turns import WriteTurn, write_turn


async def test_turns_go_in_order_of_asking() -> None:
    turn = WriteTurn()
    order: list[int] = []
    assert await turn.take(1)

    async def writer(number: int) -> None:
        assert await turn.take(5)
        order.append(number)
        await asyncio.sleep(0)
        turn.give_back()

    tasks = []
    for number in range(5):
        tasks.append(asyncio.create_task(writer(number)))
        await asyncio.sleep(0)  # each asks before the next one
    turn.give_back()
    await asyncio.gather(*tasks)
    assert order == [0, 1, 2, 3, 4]
    assert await turn.take(0.1), "free again once every writer gave it back"


async def test_a_waiter_that_gives_up_passes_the_turn_on() -> None:
    turn = WriteTurn()
    assert await turn.take(1)
    assert not await turn.take(0.05), "held: the second writer times out"
    patient = asyncio.create_task(turn.take(5))
    await asyncio.sleep(0)
    turn.give_back()
    assert await patient


async def test_turns_are_shared_with_another_event_loop() -> None:
    """The worker thread of `followup serve` runs its own loop."""
    turn = WriteTurn()
    assert await turn.take(1)
    got: list[bool] = []

    def other_loop() -> None:
        got.append(asyncio.run(turn.take(5)))
        turn.give_back()

    thread = threading.Thread(target=other_loop)
    thread.start()
    await asyncio.sleep(0.1)
    assert got == [], "the other loop waits while this one holds the turn"
    turn.give_back()
    await asyncio.to_thread(thread.join, 5)
    assert got == [True]
    assert await turn.take(0.1)


async def test_write_transactions_of_two_engines_take_turns(tmp_path: Path) -> None:
    """Two engines on one file (as serve's API and worker) share one turn; a writer
    waiting for it leaves the event loop free, and readers never wait."""
    url = f"sqlite+aiosqlite:///{tmp_path}/turns.db"
    first, second = create_engine(url), create_engine(url)
    assert write_turn(url) is write_turn(f"sqlite+aiosqlite:///{tmp_path}/./turns.db")
    try:
        async with first.begin() as conn:
            await conn.execute(text("CREATE TABLE t (n INTEGER)"))
        async with first.begin() as holder:
            await holder.execute(text("INSERT INTO t VALUES (1)"))
            waiting = asyncio.create_task(_insert(second, 2))
            ticks = 0
            while ticks < 20 and not waiting.done():
                await asyncio.sleep(0.01)  # the loop runs while the second writer waits
                ticks += 1
            assert not waiting.done()
            async with reader(second).connect() as reading:
                count = await reading.scalar(text("SELECT count(*) FROM t"))
            assert count == 0, "a reader sees the last commit, without waiting"
        await asyncio.wait_for(waiting, 5)
        async with reader(second).connect() as reading:
            assert await reading.scalar(text("SELECT count(*) FROM t")) == 2
    finally:
        await first.dispose()
        await second.dispose()


async def _insert(engine: object, value: int) -> None:
    from sqlalchemy.ext.asyncio import AsyncEngine

    assert isinstance(engine, AsyncEngine)
    async with engine.begin() as conn:
        await conn.execute(text("INSERT INTO t VALUES (:n)"), {"n": value})
