"""Stand-in Launch Library 2 API: datasets, schema validation and the aiohttp server."""
