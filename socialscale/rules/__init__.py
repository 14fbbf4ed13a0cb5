"""The keyword rules: terms (`text`), the compiled matcher (`matcher`), its worker pool (`pool`),
explanations (`explain`), and applying them to items: lane, tags, owner (`tagging`)."""
