#!/bin/sh
# Installs Debian's Dovecot IMAP server for the mail-fetch tests (tests/fixtures/dovecot.py),
# which run their own instance on free loopback ports. Does nothing when it is there already.
# The package's own service is kept from starting: it would take ports 143 and 993.
set -e
if command -v /usr/sbin/dovecot >/dev/null && [ -x /usr/lib/dovecot/imap ]; then
  exit 0
fi
sh "$(dirname "$0")/install-quietly.sh" dovecot-imapd
