"""Household codes (房屋认证码): short, random, easy to read aloud and type on a phone."""

import secrets

# No 0/O, 1/I/L: elderly owners copy these from paper.
ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
LENGTH = 8


def generate_household_code() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))


def normalise_code(raw: str) -> str:
    return "".join(ch for ch in (raw or "").upper() if ch.isalnum())
