"""The way a call travels: argument check → session → backend → output check → result."""
