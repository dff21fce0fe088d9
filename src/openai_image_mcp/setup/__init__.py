"""The newcomer's face: ``openai-image-mcp doctor`` (is this installation ready?), ``openai-image-mcp install CLIENT``
(the exact client configuration, or merged into the client's file) and the Claude Desktop extension bundle
(``scripts/build-mcpb``).

A face sibling of ``server``/``cli``/``web``: it may import every layer, and nothing imports it but ``cli`` (lazily,
so the server's start-up path never loads it).
"""

#: The clients ``install`` knows (:data:`openai_image_mcp.setup.clients.CLIENTS` has one entry each). Here, so the
#: command line can offer them without importing the rest of the package.
CLIENT_NAMES = ("claude-code", "claude-desktop", "cursor", "vscode")
#: The server's name in a client's configuration unless ``install --name`` says otherwise.
DEFAULT_NAME = "openai-image"
