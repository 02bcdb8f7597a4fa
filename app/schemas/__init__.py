"""Pydantic models of the HTTP API: requests are strict, responses document the JSON form."""
