"""Request bodies and response renderings, in Elasticsearch's field names."""
