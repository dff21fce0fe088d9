"""Image providers: the port (:mod:`.base`) and the OpenAI adapters."""
