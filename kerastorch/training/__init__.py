"""Built-in training: compile / fit / evaluate / predict."""
