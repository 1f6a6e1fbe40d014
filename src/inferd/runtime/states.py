"""A route's lifecycle (reference §4.5): the states, the events that move them, and the one table of moves."""

from __future__ import annotations

from enum import StrEnum


class RouteState(StrEnum):
    STARTING = "starting"
    STARTED = "started"
    STOPPING = "stopping"
    STOPPED = "stopped"
    FAILED = "failed"


class RouteEvent(StrEnum):
    LOADED = "loaded"
    STOP = "stop"
    DRAINED = "drained"
    FAILED = "failed"
    RESTART = "restart"


class IllegalTransition(Exception):
    pass


TRANSITIONS: dict[tuple[RouteState, RouteEvent], RouteState] = {
    (RouteState.STARTING, RouteEvent.LOADED): RouteState.STARTED,
    (RouteState.STARTING, RouteEvent.STOP): RouteState.STOPPING,
    (RouteState.STARTING, RouteEvent.FAILED): RouteState.FAILED,
    (RouteState.STARTED, RouteEvent.STOP): RouteState.STOPPING,
    (RouteState.STARTED, RouteEvent.FAILED): RouteState.FAILED,
    (RouteState.STOPPING, RouteEvent.DRAINED): RouteState.STOPPED,
    (RouteState.STOPPING, RouteEvent.FAILED): RouteState.STOPPED,
    (RouteState.STOPPING, RouteEvent.STOP): RouteState.STOPPING,
    (RouteState.FAILED, RouteEvent.STOP): RouteState.STOPPED,
    (RouteState.FAILED, RouteEvent.FAILED): RouteState.FAILED,
    (RouteState.FAILED, RouteEvent.RESTART): RouteState.STARTING,  # a crashed worker, started again
}


def transition(state: RouteState, event: RouteEvent) -> RouteState:
    try:
        return TRANSITIONS[(state, event)]
    except KeyError:
        raise IllegalTransition(f"a route in state [{state}] cannot take event [{event}]") from None
