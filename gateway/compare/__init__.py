"""Compare: the same task done the REST way and the GraphQL way, measured side by side.

`scenarios` holds the vocabulary, `reads` and `writes` the catalogue (gathered in
`catalogue`), `custom` the learner's own scenario, `recorder` and `measure` what one call
cost, `network` the profiles and the shaping proxy, `runner` the repeated runs and
`results` what they measured, `report` the renderings, `options` the link and command
that repeat a run, `page` the /compare page and `command` `gateway compare`.
"""
