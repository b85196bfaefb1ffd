"""How the desk's folder settings are spelt to an IMAP server."""

from swat.domain.imap_syntax import mailbox_name, modified_utf7, quote, uid_set


def test_levels_are_written_with_the_servers_delimiter():
    assert mailbox_name("SWAT/Processed", ".") == "SWAT.Processed"
    assert mailbox_name("SWAT/Processed", "/") == "SWAT/Processed"
    assert mailbox_name("SWAT/Processed", "") == "SWAT/Processed"  # a flat server takes it as a name


def test_the_personal_prefix_is_added_once_and_inbox_is_inbox():
    assert mailbox_name("SWAT/Processed", ".", "INBOX.") == "INBOX.SWAT.Processed"
    assert mailbox_name("INBOX/SWAT", ".", "INBOX.") == "INBOX.SWAT"
    assert mailbox_name("inbox", ".", "INBOX.") == "INBOX"


def test_japanese_names_are_in_modified_utf7():
    # Python's UTF-7 codec as the reference: the same base64, "+" written "&".
    reference = "処理済み".encode("utf-7").decode().replace("+", "&")
    assert modified_utf7("処理済み") == reference == "&UeZ0Bm4IMH8-"
    assert mailbox_name("SWAT/処理済み & R", "/") == "SWAT/&UeZ0Bm4IMH8- &- R"
    assert modified_utf7("~peter/mail/台北/日本語") == "~peter/mail/&U,BTFw-/&ZeVnLIqe-"  # RFC 3501's example


def test_quoted_strings_and_uid_sets():
    assert quote('Mr "X" \\ co') == '"Mr \\"X\\" \\\\ co"'
    assert uid_set([1, 2, 3, 7, 9, 10]) == "1:3,7,9:10"
    assert uid_set([4]) == "4"
