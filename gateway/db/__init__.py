"""The database: the only package that imports the driver (databases, asyncpg).

database.py    the connection pool, statements run and timed, replica routing, errors
               translated into the gateway's own
statements.py  named SQL statements loaded from sql/queries/*.sql
migrations.py  sql/migrations/NNNN_name.sql applied in order, recorded, under a lock
seed.py        the deterministic demo data set (`gateway seed`)
"""

from gateway.db.database import ConstraintViolation, Database, Row

__all__ = ["ConstraintViolation", "Database", "Row"]
