"""The rules of Collab with no I/O: a pairing's life, what a post may say, what an error tells the user."""
