"""Desktop attachment uploader for Supabase."""
