"""``python -m openai_image_mcp``: the same as the ``openai-image-mcp`` command."""

from openai_image_mcp.cli import main

main()
