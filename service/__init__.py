"""FastAPI service over the inference core. Imports `model/` only, never torch."""
