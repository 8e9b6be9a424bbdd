"""Passwords never reach the terminal or a file: one redaction function, and the storage paths that use it."""

from __future__ import annotations

import pytest

from kwsauto._redact import redact
from kwsauto.errors import ConfigError
from kwsauto.search._storage import make_storage


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        ("postgresql://user:secret@host/db", "secret"),
        ("postgresql://:secret@host/db", "secret"),  # no user
        ("postgresql://user:p@ss@host/db", "p@ss"),  # '@' in the password
        ("postgresql://user:pa:ss@host:5432/db", "pa:ss"),
        ("postgresql://user:pa/ss@host/db", "pa/ss"),
        ("postgresql://user:p%40ss%3Aw@host/db", "p%40ss%3Aw"),  # percent-escapes
        ("mysql+pymysql://root:hunter22@db.example.com/kws?charset=utf8", "hunter22"),
        ("postgresql://host/db?user=u&password=hunter22", "hunter22"),
        ("postgresql://host/db?sslmode=require&password=hunter22&x=1", "hunter22"),
        ("PGPASSWORD=hunter22 kwsauto search", "hunter22"),
        ("export KWSAUTO_DB_PASSWORD='hunter 22'", "hunter 22"),
        ("host=db password=hunter22 dbname=kws", "hunter22"),
        ('{"password": "hunter22"}', "hunter22"),
        ("connect failed: postgresql://u:hunter22@h/db: timeout", "hunter22"),
    ],
)
def test_redact_masks_every_form_of_password(text, secret):
    out = redact(text)
    assert secret not in out and "***" in out


@pytest.mark.parametrize("text", ["postgresql://user@host/db", "runs/demo/study.journal", "val acc 93.1%", ""])
def test_redact_leaves_text_without_secrets_alone(text):
    assert redact(text) == text


def test_redact_removes_a_known_password_wherever_a_driver_echoes_it():
    url = "postgresql://kws:p%40ss%2Fw0rd@db/kws"
    message = 'password authentication failed for user "kws" (password "p@ss/w0rd")'
    assert "p@ss/w0rd" not in redact(message, url)


@pytest.mark.parametrize(
    "url", ["postgresql://:s3cr3t-pw@127.0.0.1:1/db", "postgresql://kws:s3cr3t@pw:x@127.0.0.1:1/db"]
)
def test_an_unreachable_storage_is_one_line_without_the_password(tmp_path, url):
    with pytest.raises(ConfigError) as info:
        make_storage(tmp_path / "study.journal", url)
    message = str(info.value)
    assert "s3cr3t" not in message and "\n" not in message and "***" in message
