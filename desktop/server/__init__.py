"""Embedded Supabase-compatible server: Storage (and later REST and Auth) on loopback.

It imports nothing from the client side (domain, services, ui): the client must not be able to
tell it from a real Supabase project.
"""
