"""Whether the machine's speed held during a benchmark. On a shared cloud host it can move by a fifth within
minutes, every figure with it, so the benchmarks measure the same work twice and say when the two differ."""

DRIFT = 0.10  # the same work measured twice, further apart than this: the machine changed speed


def steadiness(before: float, after: float, *, consequence: str) -> str:
    """ "steady", or by how much the machine's speed moved between two measurements of the same work (rates or
    times alike) and ``consequence``, what that makes of the run's figures."""
    change = abs(after - before) / min(before, after)
    return "steady" if change <= DRIFT else f"the machine's speed changed by {change:.0%}: {consequence}"
