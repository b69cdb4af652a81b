"""``projector explore``: a local page to move a scenario's keys and see the projection.

Dependency direction: ``pipeline.run`` -> ``explore.session`` (state, no Bokeh) ->
``explore.page`` (the Bokeh document) -> ``explore.server`` -> ``cli.explore``. Needs the
``explore`` extra (Bokeh); ``import projector.explore`` itself imports nothing of it.
"""
