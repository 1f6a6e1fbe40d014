"""Ingest pipelines: the processors around the inference processor, run as Elasticsearch runs them."""

from inferd.control.ingest.document import IngestDocument
from inferd.control.ingest.inference_access import DeploymentInference
from inferd.control.ingest.pipeline import Outcome, Pipeline, Trace
from inferd.control.ingest.service import IngestPipelines, check_documents

__all__ = ["DeploymentInference", "IngestDocument", "IngestPipelines", "Outcome", "Pipeline", "Trace",
           "check_documents"]
