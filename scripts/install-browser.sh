#!/bin/sh
# Installs Debian's Chromium and ChromeDriver for the end-to-end test.
set -e
if [ "$(id -u)" != "0" ]; then
  SUDO=sudo
fi
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium chromium-driver fonts-noto-cjk >/dev/null
