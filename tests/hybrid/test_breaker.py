"""The hybrid's circuit breaker on a fake clock: closed -> open after k consecutive failures
-> half-open (one trial) after the cool-down -> closed on success, open again on failure."""
from qopt.hybrid.breaker import CLOSED, HALF_OPEN, OPEN, CircuitBreaker


class _Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


def test_opens_after_consecutive_failures_only():
    clock = _Clock()
    breaker = CircuitBreaker(3, cool_down=5.0, clock=clock)
    breaker.record_failure("a")
    breaker.record_failure("b")
    breaker.record_success()  # not consecutive any more
    breaker.record_failure("c")
    breaker.record_failure("d")
    assert breaker.state == CLOSED and breaker.allow()
    breaker.record_failure("e")
    assert breaker.state == OPEN and not breaker.allow()
    assert breaker.transitions == [{"from": CLOSED, "to": OPEN, "at": 0.0,
                                    "reason": "3 consecutive failure(s), the last: e"}]


def test_half_open_after_cool_down_then_closed_or_open_again():
    clock = _Clock()
    breaker = CircuitBreaker(1, cool_down=5.0, clock=clock)
    breaker.record_failure("timeout")
    clock.now += 4.999
    assert not breaker.allow() and breaker.state == OPEN
    clock.now += 0.001
    assert breaker.allow() and breaker.state == HALF_OPEN
    assert not breaker.allow()  # one trial at a time
    breaker.record_failure("still down")
    assert breaker.state == OPEN and not breaker.allow()
    clock.now += 5.0
    assert breaker.allow()
    breaker.record_success()
    assert breaker.state == CLOSED and breaker.allow() and breaker.allow()
    moves = [(t["from"], t["to"], t["at"]) for t in breaker.transitions]
    assert moves == [(CLOSED, OPEN, 0.0), (OPEN, HALF_OPEN, 5.0), (HALF_OPEN, OPEN, 5.0),
                     (OPEN, HALF_OPEN, 10.0), (HALF_OPEN, CLOSED, 10.0)]


def test_trip_and_force_open():
    clock = _Clock()
    breaker = CircuitBreaker(5, cool_down=1.0, clock=clock)
    breaker.trip("warm-up timed out")
    assert breaker.state == OPEN
    clock.now += 1.0
    assert breaker.allow()  # a tripped breaker recovers after the cool-down
    breaker.force_open("no credentials")
    clock.now += 1e9
    assert not breaker.allow() and breaker.state == OPEN  # never half-open again
