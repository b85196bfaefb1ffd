#!/bin/sh
# Installs Debian packages for the tests' own servers (scripts/install-*-server.sh), keeping
# each package's system service from starting while it installs (policy-rc.d says no): the
# tests run instances of their own on free loopback ports and never need the system's.
set -e
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
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "$@" >/dev/null
