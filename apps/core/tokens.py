import hashlib


def hash_token(token: str) -> str:
    """What is stored of a secret token (an agent's, an API user's): its SHA-256, never the token."""
    return hashlib.sha256(token.encode()).hexdigest()
