"""`helpdesk parse-mail` and `helpdesk quarantine …` as an admin runs them at a shell."""
import json
import subprocess
import sys

from services.ingest import raw_mails
from tests.mail import process_env

KOI8_MAIL = ("From: =?koi8-r?b?4c7OwQ==?= <anna@mail.example>\r\nTo: support@isp.example\r\n"
             "Subject: =?koi8-r?b?7sXUIMnO1MXSzsXUwQ==?=\r\nAuto-Submitted: auto-replied\r\n"
             "Content-Type: text/plain; charset=koi8-r\r\n\r\n").encode() \
    + "С утра нет подключения\r\n".encode("koi8-r")


def helpdesk(*args, stdin=None, env=None):
    return subprocess.run([sys.executable, "-m", "helpdesk.cli", *args], input=stdin,
                          capture_output=True, env=env, timeout=60)


def test_parse_mail_prints_the_decoded_mail_and_the_filters_verdict(tmp_path):
    path = tmp_path / "mail.eml"
    path.write_bytes(KOI8_MAIL)
    result = helpdesk("parse-mail", str(path))
    assert result.returncode == 0, result.stderr
    parsed = json.loads(result.stdout)
    assert parsed["subject"] == "Нет интернета"
    assert parsed["from"] == {"name": "Анна", "email": "anna@mail.example"}
    assert parsed["text"] == "С утра нет подключения"
    assert parsed["flags"]["auto_reply"] is True
    assert [note["used"] for note in parsed["charset_notes"]].count("koi8-r") >= 2


def test_parse_mail_reads_standard_input_and_names_a_missing_file():
    assert json.loads(helpdesk("parse-mail", "-", stdin=KOI8_MAIL).stdout)["subject"] \
        == "Нет интернета"
    missing = helpdesk("parse-mail", "/nonexistent/mail.eml")
    assert missing.returncode == 2
    assert missing.stderr.decode().strip() == "helpdesk: /nonexistent/mail.eml: no such file"


def test_quarantine_list_show_and_reprocess(config, db):
    raw_mail_id, _ = raw_mails.store(db, KOI8_MAIL, "smtp")
    raw_mails.claim(db, raw_mail_id)
    raw_mails.finish(db, raw_mail_id, "quarantined", reason="NO_DEPARTMENT: nobody receives it")
    env = process_env(config)

    listed = helpdesk("quarantine", "list", env=env).stdout.decode()
    assert "1 quarantined mail(s)" in listed and "NO_DEPARTMENT: nobody receives it" in listed
    shown = json.loads(helpdesk("quarantine", "show", str(raw_mail_id), env=env).stdout)
    assert shown["status"] == "quarantined" and shown["parsed"]["subject"] == "Нет интернета"
    assert helpdesk("quarantine", "show", str(raw_mail_id), "--raw", env=env).stdout == KOI8_MAIL

    again = helpdesk("quarantine", "reprocess", str(raw_mail_id), env=env)
    assert again.stdout.decode().strip() == f"raw mail {raw_mail_id} queued for processing"
    db.rollback()
    assert raw_mails.get(db, raw_mail_id).status == "received"


def test_quarantine_show_of_an_unknown_mail_is_a_message_not_a_traceback(config, db):
    result = helpdesk("quarantine", "show", "999999", env=process_env(config))
    assert result.returncode == 2
    assert result.stderr.decode().startswith("helpdesk: ") and b"Traceback" not in result.stderr
