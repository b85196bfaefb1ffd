"""Reading the desk's mailbox, against a real Dovecot (tests/fixtures/dovecot.py).

The callbacks here stand in for the intake: a set of Message-IDs taken in, as inbound_mails'
unique column is, so that a second take of the same mail says "duplicate".
"""

import imaplib
import threading
from email.message import EmailMessage
from email.parser import BytesHeaderParser

import pytest

from swat.services.mail_fetch import MailFetchError, fetch

DONE = "SWAT.Processed"  # SWAT/Processed, as Dovecot's Maildir++ spells it ("." between levels)


def mail(n: int, body: str = "LINE相談の事例を教えてください。") -> bytes:
    m = EmailMessage()
    m["From"] = f"staff{n}@pref.osaka.example.jp"
    m["To"] = "swat-desk@pref.osaka.example.jp"
    m["Subject"] = f"相談 {n}"
    m["Message-ID"] = f"<{n}.test@pref.osaka.example.jp>"
    m.set_content(body)
    return m.as_bytes().replace(b"\n", b"\r\n")


def message_id(raw: bytes) -> str:
    return BytesHeaderParser().parsebytes(raw)["Message-ID"]


class Intake:
    """Takes each Message-ID in once; thread-safe, like a unique column."""

    def __init__(self, fail_on: set[str] = frozenset(), barrier: threading.Barrier | None = None):
        self.taken: set[str] = set()
        self.handed: list[str] = []
        self.fail_on = set(fail_on)
        self.barrier = barrier
        self.threads: set[int] = set()
        self._lock = threading.Lock()

    def __call__(self, raw: bytes) -> str:
        mid = message_id(raw)
        if self.barrier is not None and threading.get_ident() not in self.threads:
            self.threads.add(threading.get_ident())
            self.barrier.wait(timeout=30)  # both fetchers hold message 1 before either moves it
        with self._lock:
            self.handed.append(mid)
            if mid in self.fail_on:
                self.fail_on.discard(mid)
                raise RuntimeError("database is down")
            if mid in self.taken:
                return "duplicate"
            self.taken.add(mid)
            return "filed"


def ids(messages) -> list[str]:
    return [message_id(raw) for _, raw, _ in messages]


def test_each_message_is_handed_over_once_oldest_first_and_moved_unread(dovecot):
    sent = [mail(n) for n in (1, 2, 3)]
    for raw in sent:
        dovecot.append(raw)
    dovecot.append(mail(4), flags="\\Seen")  # someone read it in a mail client: still new
    dovecot.append(mail(5), flags="\\Deleted")  # someone threw it away: left alone
    handed: list[bytes] = []

    report = fetch(dovecot.settings(), lambda raw: handed.append(raw) or "filed")

    assert handed == [*sent, mail(4)]  # byte for byte, in UID order
    assert report.outcomes == {"filed": 4} and report.errors == [] and not report.stopped
    assert ids(dovecot.messages("INBOX")) == ["<5.test@pref.osaka.example.jp>"]
    done = dovecot.messages(DONE)
    assert [raw for _, raw, _ in done] == handed
    assert [("\\Seen" in flags) for _, _, flags in done] == [False, False, False, True]
    assert "SWAT.Processed" in dovecot.folders()
    assert fetch(dovecot.settings(), lambda raw: handed.append(raw) or "filed").outcomes == {}
    assert len(handed) == 4


def test_starttls_with_the_ca_file(dovecot):
    dovecot.append(mail(1))
    intake = Intake()
    report = fetch(dovecot.settings(imap_security="starttls", imap_port=dovecot.imap_port), intake)
    assert report.outcomes == {"filed": 1}
    assert [line for line in dovecot.logins() if f"lport={dovecot.imap_port}," in line and ", TLS," in line]


@pytest.mark.parametrize("security", ["tls", "starttls"])
@pytest.mark.parametrize("ca", ["another CA", "the system's CAs", "a name not in the certificate"])
def test_an_unverified_server_never_gets_the_password(dovecot, mail_certificates, security, ca):
    dovecot.append(mail(1))
    overrides = {"imap_security": security, "imap_port": dovecot.imaps_port if security == "tls" else dovecot.imap_port}
    if ca == "another CA":
        overrides["imap_ca_file"] = str(mail_certificates.other_ca_file)
    elif ca == "the system's CAs":
        overrides["imap_ca_file"] = ""
    else:
        overrides["imap_host"] = dovecot.other_host
    intake = Intake()
    before = len(dovecot.logins())  # the append above logged in

    with pytest.raises(MailFetchError, match="TLS failed, nothing was sent.*certificate verify failed"):
        fetch(dovecot.settings(**overrides), intake)

    # Dovecot says "no auth attempts", or under load "disconnected before auth was ready".
    log = dovecot.wait_for_log(r"no auth attempts|before auth was ready", count=1)
    assert "alert" in log  # the client broke off the handshake
    assert len(dovecot.logins()) == before and "auth:" not in log and dovecot.password not in log
    assert intake.handed == [] and len(dovecot.messages("INBOX")) == 1


def test_a_server_offering_no_starttls_gets_no_password(dovecot_server):
    plain = dovecot_server(tls=False)
    settings = plain.settings(imap_security="starttls", imap_port=plain.imap_port)

    with pytest.raises(MailFetchError, match="offers no STARTTLS"):
        fetch(settings, Intake())

    log = plain.wait_for_log(r"no auth attempts|before auth was ready")
    assert plain.logins() == [] and "auth:" not in log
    # The server would have taken the password in the clear: the refusal was the desk's.
    client = imaplib.IMAP4(plain.host, plain.imap_port)
    client.authenticate("PLAIN", lambda _: f"\0{plain.username}\0{plain.password}".encode())
    client.logout()
    assert len(plain.logins()) == 1


def test_with_no_done_folder_messages_are_flagged_and_not_handed_over_again(dovecot):
    dovecot.append(mail(1))
    dovecot.append(mail(2), flags="\\Seen")  # read by a person, not yet taken in
    settings = dovecot.settings(imap_done_folder="")
    intake = Intake()

    assert fetch(settings, intake).outcomes == {"filed": 2}
    assert fetch(settings, intake).outcomes == {}

    kept = dovecot.messages("INBOX")
    assert ids(kept) == intake.handed == [message_id(mail(1)), message_id(mail(2))]
    assert all({"\\Seen", "$SwatTaken"} <= flags for _, _, flags in kept)
    assert dovecot.folders() == ["INBOX"]


def test_a_failing_callback_leaves_the_message_for_the_next_run(dovecot):
    for n in (1, 2, 3):
        dovecot.append(mail(n))
    intake = Intake(fail_on={message_id(mail(2))})

    report = fetch(dovecot.settings(), intake)

    assert report.outcomes == {"filed": 2}
    assert report.errors == ["UID 2: RuntimeError: database is down"]
    assert ids(dovecot.messages("INBOX")) == [message_id(mail(2))]
    report = fetch(dovecot.settings(), intake)
    assert report.outcomes == {"filed": 1} and report.errors == []
    assert sorted(ids(dovecot.messages(DONE))) == sorted(message_id(mail(n)) for n in (1, 2, 3))
    assert intake.handed.count(message_id(mail(2))) == 2


def test_a_run_stops_after_failures_in_a_row(dovecot):
    for n in range(1, 6):
        dovecot.append(mail(n))
    calls = []

    def broken(raw: bytes) -> str:
        calls.append(raw)
        raise ConnectionError("database is down")

    report = fetch(dovecot.settings(), broken)

    assert len(calls) == 3 and report.stopped and report.left == 2 and len(report.errors) == 3
    assert len(dovecot.messages("INBOX")) == 5


def test_a_fetcher_dying_after_the_intake_committed_hands_it_over_again_as_a_duplicate(dovecot):
    dovecot.append(mail(1))
    intake = Intake()

    def commit_then_die(raw: bytes) -> str:
        intake(raw)
        raise KeyboardInterrupt  # the process is stopped before the message is moved

    with pytest.raises(KeyboardInterrupt):
        fetch(dovecot.settings(), commit_then_die)
    assert len(dovecot.messages("INBOX")) == 1

    report = fetch(dovecot.settings(), intake)
    assert report.outcomes == {"duplicate": 1}
    assert dovecot.messages("INBOX") == [] and ids(dovecot.messages(DONE)) == [message_id(mail(1))]


@pytest.mark.parametrize("move", [True, False], ids=["MOVE", "COPY and EXPUNGE"])
def test_two_fetchers_at_once_take_each_message_in_exactly_once(dovecot_server, move):
    dovecot = dovecot_server(move=move)
    sent = [mail(n) for n in range(1, 21)]
    for raw in sent:
        dovecot.append(raw)
    intake = Intake(barrier=threading.Barrier(2))
    reports = [None, None]

    def run(i: int) -> None:
        reports[i] = fetch(dovecot.settings(), intake)

    threads = [threading.Thread(target=run, args=(i,)) for i in (0, 1)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert all(r is not None and r.errors == [] for r in reports)
    assert sum(r.outcomes["filed"] for r in reports) == 20
    duplicates = sum(r.outcomes["duplicate"] for r in reports)
    assert duplicates >= 1 and duplicates == len(intake.handed) - 20  # message 1 at least
    assert dovecot.messages("INBOX") == []
    assert sorted(ids(dovecot.messages(DONE))) == sorted(message_id(raw) for raw in sent)


def test_a_server_without_move_gets_copy_and_expunge_of_that_message_only(dovecot_server):
    server = dovecot_server(move=False)
    server.append(mail(1))
    server.append(mail(2), flags="\\Deleted")  # a person's, not expunged by the desk
    server.append(mail(3))

    report = fetch(server.settings(), Intake())

    assert report.outcomes == {"filed": 2}
    assert ids(server.messages("INBOX")) == [message_id(mail(2))]
    assert ids(server.messages(DONE)) == [message_id(mail(1)), message_id(mail(3))]
    assert all("\\Deleted" not in flags for _, _, flags in server.messages(DONE))


def test_the_password_file_is_read_at_each_fetch(dovecot):
    dovecot.append(mail(1))
    settings = dovecot.settings(imap_password="not this one", imap_password_file=str(dovecot.password_file))
    assert dovecot.password_file.read_text(encoding="utf-8") == dovecot.password + "\n"
    assert fetch(settings, Intake()).outcomes == {"filed": 1}

    dovecot.password_file.write_text("changed\n", encoding="utf-8")
    with pytest.raises(MailFetchError, match="login as 'swat-desk' refused") as refused:
        fetch(settings, Intake())
    assert "changed" not in str(refused.value)


def test_limit_takes_the_oldest_first_and_leaves_the_rest(dovecot):
    for n in range(1, 6):
        dovecot.append(mail(n))
    intake = Intake()

    report = fetch(dovecot.settings(), intake, limit=2)
    assert report.outcomes == {"filed": 2} and report.left == 3
    report = fetch(dovecot.settings(), intake, limit=2)
    assert report.outcomes == {"filed": 2} and report.left == 1
    assert intake.handed == [message_id(mail(n)) for n in range(1, 5)]


def test_a_message_over_the_size_limit_is_not_downloaded(dovecot):
    big, small = mail(1, body="添付" * 3000), mail(2)
    dovecot.append(big)
    dovecot.append(small)
    settings = dovecot.settings(max_request_bytes=len(big) - 1)
    intake = Intake()

    report = fetch(settings, intake)  # no handler for it: left where it is, and said
    assert report.outcomes == {"filed": 1, "too_large": 1} and report.handed_over == 1
    assert ids(dovecot.messages("INBOX")) == [message_id(big)]

    headers: list[bytes] = []
    report = fetch(settings, intake, handle_oversized=lambda raw, size: headers.append(raw) or "refused")
    assert report.outcomes == {"refused": 1}
    assert headers == [big[: big.index(b"\r\n\r\n") + 4]]  # the header only, to answer the sender
    assert intake.handed == [message_id(small)]
    assert dovecot.messages("INBOX") == [] and len(dovecot.messages(DONE)) == 2


def test_a_done_folder_in_japanese_is_made_and_used(dovecot):
    dovecot.append(mail(1))
    report = fetch(dovecot.settings(imap_done_folder="SWAT/処理済み"), Intake())
    assert report.outcomes == {"filed": 1}
    assert "SWAT.処理済み" in dovecot.folders()


def scan(page: int) -> bytes:
    """What a scan-to-mail printer sends: the same Message-ID every time, the same size."""
    m = EmailMessage()
    m["From"] = "scanner@pref.osaka.example.jp"
    m["To"] = "swat-desk@pref.osaka.example.jp"
    m["Subject"] = "Scanned document"
    m["Message-ID"] = "<scan@printer.local>"
    m.set_content(f"scan page {page}")
    return m.as_bytes().replace(b"\n", b"\r\n")


def test_a_different_message_with_the_same_message_id_is_never_removed(dovecot):
    first, second = scan(1), scan(2)
    assert len(first) == len(second) and first != second
    dovecot.append(first, folder=DONE)  # taken in yesterday
    dovecot.append(second)

    report = fetch(dovecot.settings(), Intake())

    assert report.outcomes == {"filed": 1} and report.copies_removed == 0
    assert [raw for _, raw, _ in dovecot.messages(DONE)] == [first, second]
    assert all("\\Deleted" not in flags for _, _, flags in dovecot.messages(DONE))


def test_a_true_second_copy_in_the_done_folder_is_removed(dovecot):
    dovecot.append(mail(1), folder=DONE)  # another fetcher's copy, landed first
    dovecot.append(scan(1), folder=DONE)
    dovecot.append(mail(1))
    dovecot.append(mail(2))

    report = fetch(dovecot.settings(), Intake())

    assert report.outcomes == {"filed": 2} and report.copies_removed == 1
    kept = dovecot.messages(DONE)
    assert [raw for _, raw, _ in kept] == [mail(1), scan(1), mail(2)]
    assert kept[0][0] == 1  # the lowest UID stays
    assert dovecot.messages("INBOX") == []


def test_a_server_without_move_and_uidplus_expunges_the_whole_folder(dovecot_server, monkeypatch):
    import tests.fixtures.dovecot as fixture

    monkeypatch.setattr(fixture, "CAPABILITIES_WITHOUT_MOVE", fixture.CAPABILITIES_WITHOUT_MOVE.replace(" UIDPLUS", ""))
    server = dovecot_server(move=False)
    server.append(mail(1))
    server.append(mail(2), flags="\\Deleted")  # a person's: gone with the plain EXPUNGE, as documented

    report = fetch(server.settings(), Intake())

    assert report.outcomes == {"filed": 1}
    assert server.messages("INBOX") == []
    assert ids(server.messages(DONE)) == [message_id(mail(1))]
