"""One router per resource; each route declares the privilege it needs."""
