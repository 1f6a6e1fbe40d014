"""inferd: deploy trained PyTorch models behind Elasticsearch's trained-model REST API."""

__version__ = "0.1.0"
