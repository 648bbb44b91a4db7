"""Report: the comparison rendered through jinja2 templates (text, markdown, JSON),
evidence files and the trend history."""
