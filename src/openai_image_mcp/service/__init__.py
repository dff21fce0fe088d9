"""The use cases behind one facade, :class:`~openai_image_mcp.service.facade.ImageService`."""

from openai_image_mcp.service.facade import ImageService

__all__ = ["ImageService"]
