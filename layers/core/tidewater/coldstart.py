"""A cold start's imports with the cyclic garbage collector paused.

Importing a function's handler makes some hundred thousand objects that live as long as the
function (modules, classes, pydantic's schemas, the routes). The collector, set off by those
allocations, walks all of them again and again while they are being made: 10-20 % of a
handler's import time (`make bench`). A handler imports this module first, which pauses the
collector, and calls `ready()` once its own imports are done: what they made is frozen (never
walked again, so a warm invocation's collections are cheaper too) and the collector resumes.
The pause is the first import's in a process (a Lambda runs one handler; the local stack,
which loads several, pauses only for the first).
"""

import gc

gc.disable()


def ready() -> None:
    gc.freeze()
    gc.enable()
