"""Use cases. Each takes a Session, an actor and a Clock; flushes, never commits."""
