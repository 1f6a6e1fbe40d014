"""The `inferd` command. Apart from `serve`, commands are clients of the REST API."""
