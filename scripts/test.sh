#!/usr/bin/env bash
# The test command of the README. Plain `go test ./...` works too: it runs
# everything on SQLite and skips what needs PostgreSQL or Chromium. This
# script adds the race detector on the concurrent core packages.
set -euo pipefail
cd "$(dirname "$0")/.."
go test -count=1 -timeout 20m ./...
go test -count=1 -race -timeout 20m ./internal/audit/ ./internal/seal/ ./internal/sqlstore/... ./internal/auth/ ./internal/jobs/ ./internal/backup/ .
