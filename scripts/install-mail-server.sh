#!/bin/sh
# Installs Debian's Dovecot IMAP server for the mail-fetch tests (tests/fixtures/dovecot.py),
# which run their own instance on free loopback ports. Does nothing when it is there already.
# The package's own service is kept from starting (policy-rc.d says no while installing):
# the tests never need it, and it would take ports 143 and 993.
set -e
if command -v /usr/sbin/dovecot >/dev/null && [ -x /usr/lib/dovecot/imap ]; then
  exit 0
fi
if [ "$(id -u)" != "0" ]; then
  SUDO=sudo
fi
POLICY=/usr/sbin/policy-rc.d
if [ ! -e "$POLICY" ]; then
  printf '#!/bin/sh\nexit 101\n' | $SUDO tee "$POLICY" >/dev/null
  $SUDO chmod 755 "$POLICY"
  trap '$SUDO rm -f "$POLICY"' EXIT
fi
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends dovecot-imapd >/dev/null
