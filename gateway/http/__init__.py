"""HTTP: the request pipeline and the rules its stages apply, one module per concern.

pipeline.py     every stage of a request in order, and the one `send` wrapper
identity.py     who is calling: principal, rate-limit identity, client address
hosts.py        the Host allow-list
cors.py         cross-origin access: preflights and the headers pages may read
compression.py  br and gzip, which answers, and their ETags
observability.py  metrics of a finished request
"""
