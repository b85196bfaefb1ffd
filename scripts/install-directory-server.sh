#!/bin/sh
# Installs Debian's OpenLDAP server and tools for the directory sign-in tests
# (tests/fixtures/slapd.py), which run their own instance on a free loopback port with a
# configuration of their own. Does nothing when it is there already.
# The package's own service is kept from starting, and stopped and disabled should it run
# anyway: the tests never need it, and it would take port 389.
set -e
if [ -x /usr/sbin/slapd ] && command -v ldapadd >/dev/null && [ -e /usr/lib/ldap/memberof.so ]; then
  exit 0
fi
if [ "$(id -u)" != "0" ]; then
  SUDO=sudo
fi
sh "$(dirname "$0")/install-quietly.sh" slapd ldap-utils
if command -v systemctl >/dev/null && [ -d /run/systemd/system ]; then
  $SUDO systemctl disable --now slapd >/dev/null 2>&1 || true
fi
if [ -x /etc/init.d/slapd ]; then
  $SUDO /etc/init.d/slapd stop >/dev/null 2>&1 || true
fi
