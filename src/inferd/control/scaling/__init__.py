"""Adaptive allocations: Elasticsearch's scaler, which sizes a deployment to its measured load."""

from inferd.control.scaling.counters import NodeCounters, RequestStats
from inferd.control.scaling.decision import Estimate, Rule, ScalingDecision
from inferd.control.scaling.events import Action, ScalingEvent
from inferd.control.scaling.scaler import AdaptiveAllocationsScaler
from inferd.control.scaling.service import AdaptiveTarget, ApplyAllocations, CounterSource, ScalerService, ScalerStatus

__all__ = [
    "Action",
    "AdaptiveAllocationsScaler",
    "AdaptiveTarget",
    "ApplyAllocations",
    "CounterSource",
    "Estimate",
    "NodeCounters",
    "RequestStats",
    "Rule",
    "ScalerService",
    "ScalerStatus",
    "ScalingDecision",
    "ScalingEvent",
]
