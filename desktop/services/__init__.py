"""Services: asyncio + httpx clients and policies over Supabase. This is a Qt-free zone."""
