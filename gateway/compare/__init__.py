"""Compare: the same task done the REST way and the GraphQL way, measured side by side.

`scenarios` holds the vocabulary, `reads` and `writes` the catalogue (gathered in
`catalogue`), `recorder` and `measure` what one call cost, `runner` the repeated runs,
`report` the renderings, `page` the /compare page and `command` `gateway compare`.
"""
