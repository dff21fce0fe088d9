"""Storage behind ports (:mod:`.ports`): state on SQLite (:mod:`.sqlite`), blobs in the workspace (:mod:`.files`)."""
