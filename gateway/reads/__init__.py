"""Reads: the read model, and the planner that answers a read with one SQL statement.

model.py         every readable type as SQL fragments: fields, relations, sorts, filters,
                 who may see what
shape.py         the selection tree a REST request or a GraphQL document becomes
planner.py       a tree to ONE statement whose result is the answer's JSON; plans by shape
positions.py     cursors and filters as bound values
pagination.py    keyset cursors and pages, one format for both styles
ordering.py      the services' sort orders, composed from the model's fragments
lists.py         the services' list pages and counts, as SQL from the model
dependencies.py  which cache generations a read of each table depends on

Running a plan (one statement, or the shared cache's copy of its answer) is the services'
work: gateway/services/plans.py.
"""
