"""The warehouse's MCP server for `agentoscope demo`: order and shipment lookups, served over
stdio with the `mcp` package. The demo starts it as a subprocess, as an agent's MCP server.

    python demo_mcp_server.py
"""

from __future__ import annotations

import asyncio

from mcp.server.mcpserver import MCPServer

ORDERS = {
    "A-1001": ("shipped", "1Z-88-4410"),
    "A-1002": ("processing", None),
    "A-1003": ("delivered", "1Z-88-4471"),
}

server = MCPServer("warehouse")


@server.tool()
async def lookup_order(order_id: str) -> str:
    """Look up an order's status in the warehouse system."""
    await asyncio.sleep(0.03)
    status, tracking = ORDERS.get(order_id, ("unknown", None))
    return f"order {order_id}: {status}" + (f", tracking {tracking}" if tracking else "")


@server.tool()
async def track_shipment(tracking_id: str) -> str:
    """Where a parcel is now, from the carrier."""
    await asyncio.sleep(0.05)
    return f"{tracking_id}: out for delivery, expected today by 18:00"


if __name__ == "__main__":
    server.run("stdio")
