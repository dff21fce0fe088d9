"""The studio: one self-contained web page (HTML, CSS and JS in the package, nothing fetched from elsewhere) that
shows the images: a viewer with the session's thread, a gallery, and a mask painter. The MCP tools serve it as an
MCP App (``tools/studio.py``); the HTTP face serves the same page to a browser. This package only holds the page:
it imports nothing of ours and no MCP."""
