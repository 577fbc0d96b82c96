"""Worker portal: task pages, sessions and the self-hosted crowd HTML elements (static/crowd)."""
