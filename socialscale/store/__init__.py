"""The SQLite store: the only package that writes SQL.

`db.py` opens a database safely, `schema.py` holds the migrations, and one module per
concern (`items.py`, `sources.py`, ...) holds the queries and writes for it.
"""
