"""Russian (and other non-Latin) mail as it really arrives: KOI8-R, windows-1251, ISO-8859-5,
mac-cyrillic, cp866, labelled, mislabelled and unlabelled; names and files in every encoding."""
import base64
import urllib.parse

import pytest

from services.ingest.parsing import parse

TEXT = "Здравствуйте! Не работает интернет с утра, прошу проверить подключение по договору."
SUBJECT = "Не работает интернет"
NAME = "Иван Петров"
FILE = "Договор на подключение.pdf"


def _mail(headers, body=b"", content_type=b"text/plain"):
    head = b"From: " + headers.pop("From", b"anna@mail.example") + b"\n"
    head += b"To: support@helpdesk.example\nMIME-Version: 1.0\n"
    head += b"".join(name.encode() + b": " + value + b"\n" for name, value in headers.items())
    if b"Content-Type" not in head:
        head += b"Content-Type: " + content_type + b"\n"
    return head + b"\n" + body


def _word(text, charset, encoding="B", label=None):
    data = text.encode(charset)
    payload = base64.b64encode(data) if encoding == "B" else \
        "".join(f"={b:02X}" for b in data).encode()
    return b"=?" + (label or charset).encode() + b"?" + encoding.encode() + b"?" + payload + b"?="


@pytest.mark.parametrize("charset", ["koi8-r", "windows-1251", "iso-8859-5", "utf-8"])
def test_declared_cyrillic_charsets_decode_subject_name_and_body(charset):
    raw = _mail({"From": _word(NAME, charset) + b" <ivan@mail.example>",
                 "Subject": _word(SUBJECT, charset, "Q")}, TEXT.encode(charset),
                b"text/plain; charset=" + charset.encode())
    mail = parse(raw)
    assert mail.subject == SUBJECT
    assert mail.from_.name == NAME and mail.from_.email == "ivan@mail.example"
    assert mail.text == TEXT


@pytest.mark.parametrize("charset", ["koi8-r", "windows-1251", "iso-8859-5", "mac-cyrillic",
                                     "cp866"])
def test_undeclared_8bit_cyrillic_body_is_detected(charset):
    mail = parse(_mail({"Subject": b"test"}, TEXT.encode(charset)))
    assert mail.text == TEXT
    note = next(n for n in mail.charset_notes if n.part == "body:1")
    assert note.detected and note.declared is None


@pytest.mark.parametrize("charset", ["koi8-r", "windows-1251"])
def test_raw_8bit_subject_and_display_name_without_any_declaration(charset):
    raw = _mail({"From": NAME.encode(charset) + b" <ivan@mail.example>",
                 "Subject": SUBJECT.encode(charset)}, b"hello")
    mail = parse(raw)
    assert mail.subject == SUBJECT
    assert mail.from_.name == NAME
    assert any(n.part == "header:Subject" and n.detected for n in mail.charset_notes)


def test_raw_8bit_subject_takes_the_charset_the_body_declares():
    short = "Счёт"  # too short to be recognised alone: the body's charset decides
    raw = _mail({"Subject": short.encode("koi8-r")}, TEXT.encode("koi8-r"),
                b"text/plain; charset=koi8-r")
    assert parse(raw).subject == short


def test_encoded_word_split_in_the_middle_of_a_utf8_character():
    data = SUBJECT.encode("utf-8")
    cut = 3  # inside the second letter's two bytes
    with pytest.raises(UnicodeDecodeError):
        data[:cut].decode("utf-8")
    raw = _mail({"Subject": b"=?UTF-8?B?" + base64.b64encode(data[:cut]) + b"?=\n =?utf-8?B?" +
                 base64.b64encode(data[cut:]) + b"?="})
    mail = parse(raw)
    assert mail.subject == SUBJECT
    assert "\ufffd" not in mail.subject


def test_encoded_words_with_missing_end_spaces_and_bad_padding():
    word = base64.b64encode(SUBJECT.encode("utf-8")).rstrip(b"=")
    raw = _mail({"Subject": b"=?utf-8?b?" + word[:8] + b" " + word[8:]})  # no "?=", a space
    assert parse(raw).subject == SUBJECT


def test_unknown_charset_in_an_encoded_word_is_detected():
    raw = _mail({"Subject": b"=?x-unknown?B?" + base64.b64encode(SUBJECT.encode("cp1251")) +
                 b"?="})
    assert parse(raw).subject == SUBJECT


def test_koi8r_body_labelled_windows1251_is_read_as_koi8r():
    """Detectable: in the wrong page Russian text turns into rare, mostly upper-case letters."""
    raw = _mail({"Subject": b"test"}, TEXT.encode("koi8-r"),
                b"text/plain; charset=windows-1251")
    mail = parse(raw)
    assert mail.text == TEXT
    note = next(n for n in mail.charset_notes if n.part == "body:1")
    assert (note.declared, note.used, note.detected) == ("windows-1251", "koi8-r", True)


def test_windows1251_body_labelled_koi8r_is_read_as_windows1251():
    raw = _mail({"Subject": b"test"}, TEXT.encode("cp1251"), b"text/plain; charset=koi8-r")
    assert parse(raw).text == TEXT


def test_russian_text_labelled_latin1_is_read_as_cyrillic():
    raw = _mail({"Subject": b"test"}, TEXT.encode("cp1251"),
                b"text/plain; charset=iso-8859-1")
    assert parse(raw).text == TEXT


def test_mac_cyrillic_declared_under_its_mail_label():
    raw = _mail({"Subject": _word(SUBJECT, "mac-cyrillic", label="x-mac-cyrillic")},
                TEXT.encode("mac-cyrillic"),
                b"text/plain; charset=x-mac-cyrillic")
    mail = parse(raw)
    assert (mail.subject, mail.text) == (SUBJECT, TEXT)


def _with_file(disposition):
    return _mail({"Subject": b"file", "Content-Type": b'multipart/mixed; boundary="b"'},
                 b"--b\nContent-Type: text/plain; charset=utf-8\n\nsee file\n--b\n"
                 b"Content-Type: application/pdf\nContent-Transfer-Encoding: base64\n" +
                 disposition + b"\n\nJVBERi0xLjQK\n--b--\n")


@pytest.mark.parametrize("charset", ["utf-8", "koi8-r", "windows-1251"])
def test_rfc2231_file_names(charset):
    quoted = urllib.parse.quote(FILE.encode(charset)).encode()
    mail = parse(_with_file(b"Content-Disposition: attachment; filename*=" +
                            charset.encode() + b"''" + quoted))
    assert [a.filename for a in mail.attachments] == [FILE]
    assert mail.attachments[0].content == b"%PDF-1.4\n"


def test_rfc2231_continuations_with_a_wrong_charset():
    quoted = urllib.parse.quote(FILE.encode("koi8-r")).encode()
    middle = len(quoted) // 2 - len(quoted) // 2 % 3  # cut between two %XX
    mail = parse(_with_file(b"Content-Disposition: attachment;\n filename*0*=windows-1251''" +
                            quoted[:middle] + b";\n filename*1*=" + quoted[middle:]))
    assert [a.filename for a in mail.attachments] == [FILE]


@pytest.mark.parametrize("charset", ["koi8-r", "utf-8"])
def test_rfc2047_file_names(charset):
    mail = parse(_with_file(b'Content-Disposition: attachment; filename="' +
                            _word(FILE, charset) + b'"'))
    assert [a.filename for a in mail.attachments] == [FILE]


@pytest.mark.parametrize("charset", ["koi8-r", "windows-1251", "utf-8"])
def test_raw_8bit_file_names(charset):
    mail = parse(_with_file(b'Content-Disposition: attachment; filename="' +
                            FILE.encode(charset) + b'"'))
    assert [a.filename for a in mail.attachments] == [FILE]


def test_iso_2022_jp_subject_and_body_with_windows_extensions():
    body = "お世話になっております。①②の件、確認します。"
    raw = _mail({"Subject": _word("確認のお願い", "iso-2022-jp")},
                "お世話になっております。".encode("iso-2022-jp") +
                b"\x1b$B-!-\"\x1b(B" + "の件、確認します。".encode("iso-2022-jp"),
                b"text/plain; charset=ISO-2022-JP")
    mail = parse(raw)
    assert mail.subject == "確認のお願い"
    assert mail.text == body


def test_gb2312_subject_and_body():
    text = "您好，附件是合同，请查收。"
    raw = _mail({"Subject": _word("合同", "gb2312")}, text.encode("gb2312"),
                b"text/plain; charset=gb2312")
    mail = parse(raw)
    assert (mail.subject, mail.text) == ("合同", text)


def test_western_text_is_not_taken_for_cyrillic():
    text = "Grüße aus München, schöne Größe. Très bien, à bientôt."
    mail = parse(_mail({"Subject": b"test"}, text.encode("cp1252"),
                       b"text/plain; charset=iso-8859-1"))
    assert mail.text == text


def test_greek_label_is_not_overridden():
    text = "Καλημέρα, το ίντερνετ δεν λειτουργεί από το πρωί."
    mail = parse(_mail({"Subject": b"test"}, text.encode("iso-8859-7"),
                       b"text/plain; charset=iso-8859-7"))
    assert mail.text == text
