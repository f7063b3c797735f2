"""The events module: change events, recorded in the database and streamed as SSE."""
