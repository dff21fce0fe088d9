"""The HTTP face: the Streamable HTTP app, authentication, and the routes beside /mcp."""
