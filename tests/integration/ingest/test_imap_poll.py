"""The IMAP poller against a real Dovecot. The poller's contract is the `store_raw` callable,
so a stand-in that keeps mails in memory and, like the unique source_key column, stores a key
once, is enough here; the real store is tested in test_raw_mail_store.py."""
import hashlib
import random
import ssl

import eventlet
import pytest
from imapclient import IMAPClient

from services.ingest import imap

SEEN, DELETED = b"\\Seen", b"\\Deleted"


class RawMailStore:
    """Stands in for raw_mails.store: `fail(source_key)` says whether the database is down."""

    def __init__(self, fail=lambda source_key: False, seconds=0):
        self.mails, self.created, self.fail, self.seconds = {}, [], fail, seconds

    def __call__(self, raw, source_key):
        eventlet.sleep(self.seconds)    # a commit takes time; a racing poller runs meanwhile
        if self.fail(source_key):
            raise ConnectionError("database unreachable")
        if source_key in self.mails:
            return False
        self.mails[source_key] = raw
        self.created.append(source_key)
        return True


def mailbox_of(account, **settings):
    return imap.Mailbox(**{"id": 7, "name": "Support inbox", "host": account.host,
                           "port": account.port, "security": "none", "username": account.user,
                           "password": account.password, "timeout": 10, **settings})


def mail(number, body=b"Hello"):
    return (b"From: anna@customer.example\r\nTo: support@isp.example\r\n"
            b"Subject: request %d\r\nMessage-ID: <%d@customer.example>\r\n\r\n%s\r\n"
            % (number, number, body))


def test_each_mail_is_stored_once_then_marked_seen(dovecot):
    uids = [dovecot.append(mail(n)) for n in range(3)]
    dovecot.append(mail(99), flags=[SEEN])          # read already: not for the help desk
    store = RawMailStore()
    result = imap.poll(mailbox_of(dovecot), store)
    assert (result.fetched, result.stored, result.already_had, result.errors) == (3, 3, 0, 0)
    assert store.created == [f"imap:7:{result.uidvalidity}:{uid}" for uid in uids]
    assert [store.mails[key] for key in store.created] == [mail(n) for n in range(3)]
    assert all(SEEN in flags for flags in dovecot.messages().values())
    assert imap.poll(mailbox_of(dovecot), store).fetched == 0


def test_with_after_import_delete_mails_are_gone_once_stored(dovecot):
    for n in range(3):
        dovecot.append(mail(n))
    store = RawMailStore()
    result = imap.poll(mailbox_of(dovecot, after_import="delete"), store)
    assert (result.stored, len(store.mails)) == (3, 3)
    assert dovecot.messages() == {}


def test_without_uidplus_delete_falls_back_to_a_plain_expunge(dovecot, monkeypatch):
    has_capability = IMAPClient.has_capability
    monkeypatch.setattr(IMAPClient, "has_capability",
                        lambda client, name: name != "UIDPLUS" and has_capability(client, name))
    dovecot.append(mail(1))
    result = imap.poll(mailbox_of(dovecot, after_import="delete"), RawMailStore())
    assert result.stored == 1 and dovecot.messages() == {}


def test_many_mails_are_fetched_in_batches_each_once(dovecot):
    for n in range(23):
        dovecot.append(mail(n))
    store = RawMailStore()
    result = imap.poll(mailbox_of(dovecot), store, batch_size=5)
    assert (result.fetched, result.stored, len(set(store.created))) == (23, 23, 23)
    assert all(SEEN in flags for flags in dovecot.messages().values())


@pytest.mark.parametrize("after_import", ["seen", "delete"])
def test_a_failing_store_leaves_the_mail_on_the_server_for_the_next_poll(dovecot, after_import):
    dovecot.append(mail(1))
    mailbox = mailbox_of(dovecot, after_import=after_import)
    result = imap.poll(mailbox, RawMailStore(fail=lambda key: True))
    assert (result.fetched, result.stored, result.errors) == (1, 0, 1)
    assert list(dovecot.messages().values()) == [set()]
    store = RawMailStore()
    assert imap.poll(mailbox, store).stored == 1 and list(store.mails.values()) == [mail(1)]


def test_one_mail_the_store_refuses_does_not_hold_up_the_others(dovecot):
    poison = dovecot.append(mail(1))
    dovecot.append(mail(2))
    store = RawMailStore(fail=lambda key: key.endswith(f":{poison}"))
    result = imap.poll(mailbox_of(dovecot), store)
    assert (result.stored, result.errors) == (1, 1)
    assert {uid: SEEN in flags for uid, flags in dovecot.messages().items()} == \
        {poison: False, poison + 1: True}


def test_a_store_down_for_good_stops_the_poll_after_a_few_mails(dovecot):
    for n in range(6):
        dovecot.append(mail(n))
    result = imap.poll(mailbox_of(dovecot), RawMailStore(fail=lambda key: True))
    assert (result.fetched, result.errors) == (imap.STORE_FAILURES_IN_A_ROW,) * 2
    assert all(flags == set() for flags in dovecot.messages().values())


@pytest.mark.parametrize("after_import", ["seen", "delete"])
def test_two_pollers_racing_on_one_mailbox_import_every_mail_once(dovecot, after_import):
    uids = [dovecot.append(mail(n)) for n in range(30)]
    mailbox, store = mailbox_of(dovecot, after_import=after_import), RawMailStore(seconds=0.01)
    pollers = [eventlet.spawn(imap.poll, mailbox, store, batch_size=4) for _ in range(2)]
    results = [poller.wait() for poller in pollers]
    assert all(result.fetched > 0 for result in results)      # they did race
    assert sorted(store.created) == sorted(f"imap:7:{results[0].uidvalidity}:{uid}"
                                           for uid in uids)
    assert sum(result.stored for result in results) == 30
    assert all(result.errors == 0 for result in results)
    left = dovecot.messages()
    assert left == {} if after_import == "delete" else all(SEEN in f for f in left.values())


def test_a_wrong_password_is_a_clear_error_naming_the_mailbox(dovecot):
    with pytest.raises(imap.MailboxError) as raised:
        imap.poll(mailbox_of(dovecot, password="wrong"), RawMailStore())
    message = str(raised.value)
    assert "Support inbox" in message and "login refused" in message and dovecot.user in message
    assert raised.value.__cause__ is None and raised.value.__suppress_context__


def test_an_unreachable_server_is_a_clear_error_naming_the_mailbox(dovecot):
    with pytest.raises(imap.MailboxError, match=r"mailbox Support inbox \(127.0.0.1:1, "):
        imap.poll(mailbox_of(dovecot, port=1), RawMailStore())


def test_a_missing_folder_is_a_clear_error_and_the_password_is_never_shown(dovecot):
    mailbox = mailbox_of(dovecot, folder="Tickets")
    with pytest.raises(imap.MailboxError, match="Support inbox .*folder Tickets"):
        imap.poll(mailbox, RawMailStore())
    assert dovecot.password not in repr(mailbox)


def test_a_dropped_connection_keeps_what_was_stored_and_the_rest_comes_next_time(dovecot):
    for n in range(5):
        dovecot.append(mail(n))
    store = RawMailStore()

    def store_then_cut_on_the_second(raw, source_key):
        created = store(raw, source_key)
        if len(store.mails) == 2:
            dovecot.kick()
        return created

    with pytest.raises(imap.MailboxError) as raised:
        imap.poll(mailbox_of(dovecot), store_then_cut_on_the_second, batch_size=2)
    assert raised.value.result.stored == 2 and len(store.mails) == 2
    assert all(flags == set() for flags in dovecot.messages().values())
    result = imap.poll(mailbox_of(dovecot), store)
    assert (result.already_had, result.stored, len(store.mails)) == (2, 3, 5)
    assert all(SEEN in flags for flags in dovecot.messages().values())


def test_a_mail_over_the_size_limit_is_left_untouched(dovecot):
    big = dovecot.append(mail(1, body=b"x" * 5000))
    small = dovecot.append(mail(2))
    store = RawMailStore()
    result = imap.poll(mailbox_of(dovecot), store, max_bytes=1000)
    assert ([skipped.uid for skipped in result.too_big], result.stored) == ([big], 1)
    assert b"Subject: request 1" in result.too_big[0].header
    assert dovecot.messages() == {big: set(), small: {SEEN}}


def test_eight_bit_and_big_mails_round_trip_byte_exact(dovecot):
    cyrillic = (b"From: =?koi8-r?b?4c7OwQ==?= <anna@customer.example>\r\nSubject: \xf0\xd2\xc9"
                b"\xd7\xc5\xd4\r\nContent-Type: text/plain; charset=koi8-r\r\n"
                b"Content-Transfer-Encoding: 8bit\r\n\r\n\xfc\xd4\xcf \xd4\xc5\xd3\xd4\r\n")
    sent = [cyrillic, mail(2, body=_random_lines(5 * 1024 * 1024))]
    for raw in sent:
        dovecot.append(raw)
    store = RawMailStore()
    imap.poll(mailbox_of(dovecot), store)
    assert [_sha256(raw) for raw in store.mails.values()] == [_sha256(raw) for raw in sent]


def test_dovecot_hands_out_crlf_line_endings_and_no_nul_bytes(dovecot):
    # What the poller stores is what IMAP hands out: CRLF mail byte for byte, but a mail
    # APPENDed with bare LF or CR comes back with CRLF, and NUL comes back as 0x80.
    uid = dovecot.append(b"Subject: lf\n\nline\nbare\rcr\x00nul\n")
    assert dovecot.body(uid) == b"Subject: lf\r\n\r\nline\r\nbare\r\ncr\x80nul\r\n"


def test_tls_and_starttls_with_the_servers_certificate(dovecot):
    trusted = ssl.create_default_context(cafile=dovecot.cafile)
    for number, (security, port) in enumerate([("tls", dovecot.tls_port),
                                               ("starttls", dovecot.port)]):
        dovecot.append(mail(number))
        mailbox = mailbox_of(dovecot, security=security, port=port)
        assert imap.poll(mailbox, RawMailStore(), ssl_context=trusted).stored == 1


def test_an_untrusted_certificate_is_refused(dovecot):
    dovecot.append(mail(1))
    with pytest.raises(imap.MailboxError, match="certificate"):
        imap.poll(mailbox_of(dovecot, security="tls", port=dovecot.tls_port), RawMailStore())
    assert list(dovecot.messages().values()) == [set()]


def test_a_new_uidvalidity_imports_only_what_is_not_yet_seen(dovecot):
    mailbox, store = mailbox_of(dovecot, folder="Support"), RawMailStore()
    dovecot.append(mail(1), folder="Support")
    before = imap.poll(mailbox, store).uidvalidity
    with dovecot.connect() as client:   # the folder rebuilt, as a server migration does
        client.delete_folder("Support")
    dovecot.append(mail(1), folder="Support", flags=[SEEN])
    new = dovecot.append(mail(2), folder="Support")
    result = imap.poll(mailbox, store)
    assert result.uidvalidity != before and result.stored == 1
    assert store.created[-1] == f"imap:7:{result.uidvalidity}:{new}"


def _random_lines(size):
    noise = random.Random(7).randbytes(size)
    # Every byte value but those IMAP cannot carry in a plain (non-BINARY) fetch.
    noise = noise.translate(bytes(range(256)).replace(b"\x00", b"0").replace(b"\n", b"N")
                            .replace(b"\r", b"R"))
    return b"\r\n".join(noise[i:i + 76] for i in range(0, size, 76))


def _sha256(raw):
    return hashlib.sha256(raw).hexdigest()
