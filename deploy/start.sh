#!/bin/sh
# The image's default command: bring the schema to head, then run the API and the worker
# in one process. `exec` makes followup the container's main process, so the SIGTERM of
# `docker stop` reaches it and it drains and exits 0.
set -eu
followup migrate
exec followup serve "$@"
