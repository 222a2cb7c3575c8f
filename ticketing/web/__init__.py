"""Server-rendered web pages (agent queue, ticket view, SLA report, citizen chat)."""
