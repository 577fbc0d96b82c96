"""The requester console: server-rendered pages under /console (crowdloop.console.app)."""
