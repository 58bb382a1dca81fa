"""Rules shared by every domain: input validation, sanitising (the only bleach import),
personal data (encryption, keyed hashes, addresses), spam tokens, visitor keys, and the
domain errors they raise."""
