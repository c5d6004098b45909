"""World builders: one module per feature, each with build(app, world) -> {url_param_name: object_id}.

tests/factories.py calls every builder for both companies of the `two_companies` fixture, so the url_map
walks (isolation, roles, read-only) can fill any company route's URL parameters with real ids.
"""
