"""SDK-style programs (written like the official SDK's examples) for the port test."""
