#!/bin/sh
# Installs Debian's nginx (and the openssl tool, for a test certificate) for the test that runs
# deploy/nginx-swat.conf in front of gunicorn (tests/test_deploy.py), with a configuration of
# its own on free loopback ports. Does nothing when they are there already.
# The package's own service is kept from starting: it would take port 80.
set -e
if [ -x /usr/sbin/nginx ] && command -v openssl >/dev/null; then
  exit 0
fi
sh "$(dirname "$0")/install-quietly.sh" nginx openssl
