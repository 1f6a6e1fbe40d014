"""HTTP surface: routes, Elasticsearch conventions, rendering. Turns HTTP into calls on control/."""
