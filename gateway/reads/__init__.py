"""Reads: the read model, and the planner that answers a read with one SQL statement.

model.py      every readable type as SQL fragments: fields, relations, sorts, filters,
              who may see what
shape.py      the selection tree a REST request or a GraphQL document becomes
planner.py    a tree to ONE statement whose result is the answer's JSON; plans by shape
positions.py  cursors and filters as bound values
plans.py      running a plan: one statement, or the shared cache's copy of its answer
"""
