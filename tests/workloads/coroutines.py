"""asyncio: 5 tasks of leaf(), each suspending twice on a future that the
event loop completes; gathered by main()."""
import asyncio


async def leaf(i):
    loop = asyncio.get_running_loop()
    for _ in range(2):
        fut = loop.create_future()
        loop.call_soon(fut.set_result, None)
        await fut
    return i


async def main():
    return sum(await asyncio.gather(*(leaf(i) for i in range(5))))


print(asyncio.run(main()))
