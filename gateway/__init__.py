"""A hybrid REST + GraphQL gateway over one raw-SQL data layer on PostgreSQL, with a Redis cache."""

__version__ = "0.1.0"
