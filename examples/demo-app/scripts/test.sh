#!/bin/sh
# The app's "unit test": the version file names a release and the page links to it.
set -eu
version=$(cat site/version)
case "$version" in
  "" | *" "*) echo "::error file=site/version,line=1::site/version must hold one word"; exit 1 ;;
esac
grep -q 'href="/version"' site/index.html || { echo "::error file=site/index.html::no /version link"; exit 1; }
echo "version $version looks fine"
