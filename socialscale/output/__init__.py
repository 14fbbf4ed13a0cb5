"""The renderers: terminal tables and json/ndjson/csv (`render`), the HTML report (`html`), and the
views of one command's data (`summary`, `pull`, `rules`, `report`). With `cli/`, the only modules
that import rich."""
