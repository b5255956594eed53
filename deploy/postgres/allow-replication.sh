#!/bin/sh
# Run once by the postgres image when it creates the primary's cluster: lets the standby of
# the compose `replica` profile stream from it (as the superuser, with its password).
set -eu
echo "host replication ${POSTGRES_USER} all scram-sha-256" >> "$PGDATA/pg_hba.conf"
