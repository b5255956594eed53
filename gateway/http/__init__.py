"""HTTP: the request pipeline, and what every transport shares, one module per concern.

pipeline.py       every stage of a request in order, and the one `send` wrapper
identity.py       who is calling: principal, rate-limit identity, client address
hosts.py          the Host allow-list
cors.py           cross-origin access: preflights and the headers pages may read
compression.py    br and gzip, which answers, and their ETags
observability.py  metrics of a finished request
responses.py      JSON answers, and errors as problem+json or in the GraphQL shape
bodies.py         JSON request bodies: the right content type and valid JSON, or a 4xx
etags.py          strong ETags and the preconditions that compare them
media.py          content negotiation for GraphQL over HTTP
monitoring.py     /livez, /readyz and /metrics (also on METRICS_PORT)
"""
