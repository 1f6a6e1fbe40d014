"""Secrets: random, stored only as salted hashes, compared in constant time."""

import base64

from inferd.control.security.hashing import (
    CheckedSecrets,
    encode_api_key,
    hash_key_secret,
    hash_password,
    key_secret_matches,
    new_key_id,
    new_key_secret,
    password_matches,
)


def test_keys_are_random_with_at_least_128_bits() -> None:
    secrets = {new_key_secret() for _ in range(1000)}
    assert len(secrets) == 1000
    secret = next(iter(secrets))
    assert len(base64.urlsafe_b64decode(secret + "==")) * 8 >= 128
    assert len(new_key_id()) == 20


def test_the_encoded_form_is_what_elasticsearch_py_sends() -> None:
    assert base64.b64decode(encode_api_key("id", "secret")) == b"id:secret"


def test_key_hashes_are_salted_and_verify() -> None:
    salt, digest = hash_key_secret("s3cret")
    other_salt, other_digest = hash_key_secret("s3cret")
    assert salt != other_salt and digest != other_digest and "s3cret" not in digest
    assert key_secret_matches("s3cret", salt, digest)
    assert not key_secret_matches("s3cret!", salt, digest)


def test_passwords_use_scrypt() -> None:
    stored = hash_password("correct horse")
    assert stored.startswith("scrypt$") and "correct horse" not in stored
    assert password_matches("correct horse", stored)
    assert not password_matches("correct horsf", stored)
    assert not password_matches("x", "md5$whatever")


def test_checked_secrets_keep_keyed_digests_only() -> None:
    checked = CheckedSecrets()
    digest = checked.digest("pw")
    assert b"pw" not in digest and checked.same("pw", digest) and not checked.same("pw2", digest)
    assert CheckedSecrets().digest("pw") != digest  # a key per process: digests are useless elsewhere
