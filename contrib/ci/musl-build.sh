#!/bin/sh
#
# musl-build.sh - build udp-over-tcp against musl (musl-tools' musl-gcc)
# as a stand-in for a libc other than glibc, and run its test suite.
#
# usage: contrib/ci/musl-build.sh [TARBALL] [WORKDIR]
#
#   TARBALL  a release tarball from 'make dist' (default: the newest
#            udp-over-tcp-*.tar.gz at the top of the source tree)
#   WORKDIR  scratch directory (default: ${TMPDIR:-/tmp}/uot-musl); the
#            musl builds of the dependencies are kept there and reused
#
# Debian ships no musl builds of libevent or Check, so this script builds
# them from Debian's own source packages (apt-get source, through a
# private sources list under WORKDIR whose deb-src line takes the archive
# URI from the system's own apt configuration, which is left alone) with
# musl-gcc, as static libraries in WORKDIR/prefix, and copies uthash's
# headers there.  It needs Debian's package repository, and root (or
# sudo) only to install musl-tools and uthash-dev when they are missing.
# Environment: MAKE_CHECK=no builds without running make check.

set -eu

here=$(cd "$(dirname "$0")/../.." && pwd)
tarball=${1:-}
work=${2:-${TMPDIR:-/tmp}/uot-musl}
prefix=$work/prefix

if [ -z "$tarball" ]; then
	# shellcheck disable=SC2012
	tarball=$(ls -t "$here"/udp-over-tcp-*.tar.gz 2>/dev/null | head -n 1)
	if [ -z "$tarball" ]; then
		echo "musl-build: no udp-over-tcp-*.tar.gz in $here; run 'make dist' or give one" >&2
		exit 2
	fi
fi
case $tarball in /*) ;; *) tarball=$(pwd)/$tarball ;; esac

sudo=""
[ "$(id -u)" -eq 0 ] || sudo=sudo
if ! command -v musl-gcc >/dev/null 2>&1; then
	$sudo apt-get install -y --no-install-recommends musl-tools
fi
if [ ! -r /usr/include/uthash.h ]; then
	$sudo apt-get install -y --no-install-recommends uthash-dev
fi

mkdir -p "$work/apt/lists/partial" "$work/src" "$prefix/include"

# debian_uri SUITE: the archive URI the system's own apt configuration
# uses for SUITE (deb822 sources first, then a one-line sources.list),
# so the deb-src line below points at the same mirror as the binary
# packages.  Prints nothing if there is none.
debian_uri() {
	uri=""
	if [ -r /etc/apt/sources.list.d/debian.sources ]; then
		# The first URI of the first enabled stanza whose Suites has
		# SUITE itself (not SUITE-updates or SUITE-security).
		uri=$(awk -v suite="$1" '
		    function flush() {
			if (uris != "" && has && enabled)
				{ print uris; found = 1; exit }
			uris = ""; has = 0; enabled = 1
		    }
		    BEGIN { enabled = 1 }
		    /^[[:blank:]]*$/ { flush(); next }
		    /^#/ { next }
		    tolower($1) == "uris:" { uris = $2 }
		    tolower($1) == "suites:" {
			for (i = 2; i <= NF; i++) if ($i == suite) has = 1
		    }
		    tolower($1) == "enabled:" && tolower($2) == "no" { enabled = 0 }
		    END { if (!found) flush() }' \
		    /etc/apt/sources.list.d/debian.sources)
	fi
	if [ -z "$uri" ] && [ -r /etc/apt/sources.list ]; then
		# "deb [options] URI suite components": the first deb line.
		uri=$(sed -n 's/^[[:blank:]]*deb[[:blank:]]\{1,\}\(\[[^]]*\][[:blank:]]*\)\{0,1\}\([^[:blank:]]\{1,\}\).*/\2/p' \
		    /etc/apt/sources.list | head -n 1)
	fi
	printf '%s\n' "$uri"
}

# Debian's sources for the dependencies, through a sources list of our own.
if [ ! -f "$prefix/lib/libevent.a" ] || [ ! -f "$prefix/lib/libcheck.a" ]; then
	suite=$(. /etc/os-release && echo "${VERSION_CODENAME:-stable}")
	uri=$(debian_uri "$suite")
	if [ -z "$uri" ]; then
		echo "musl-build: no Debian archive URI for '$suite' in /etc/apt/sources.list.d/debian.sources or /etc/apt/sources.list" >&2
		exit 2
	fi
	echo "musl-build: Debian sources from $uri $suite"
	echo "deb-src $uri $suite main" >"$work/apt/sources.list"
	set -- -o "Dir::Etc::SourceList=$work/apt/sources.list" \
	    -o Dir::Etc::SourceParts=/dev/null \
	    -o "Dir::State::Lists=$work/apt/lists"
	apt-get "$@" update
	(cd "$work/src" && apt-get "$@" source --download-only libevent check)
fi

# unpack NAME: the upstream source from Debian's source package (its
# .orig tarball) into WORKDIR/src/NAME.  Debian's patches are left out:
# they touch Makefile.am, which would need this system's automake to
# match the tarball's, and a static build does not need them.
unpack() {
	if [ ! -d "$work/src/$1" ]; then
		mkdir "$work/src/$1"
		for orig in "$work/src/$1"_*.orig.tar.gz; do
			tar -xzf "$orig" -C "$work/src/$1" --strip-components=1
		done
	fi
}

if [ ! -f "$prefix/lib/libevent.a" ]; then
	unpack libevent
	(cd "$work/src/libevent" &&
	    ./configure CC=musl-gcc --prefix="$prefix" --disable-shared \
		--disable-openssl --disable-samples --disable-libevent-regress \
		--disable-debug-mode &&
	    make -j2 && make install)
fi
if [ ! -f "$prefix/lib/libcheck.a" ]; then
	unpack check
	(cd "$work/src/check" &&
	    ./configure CC=musl-gcc --prefix="$prefix" --disable-shared \
		--disable-subunit --disable-build-docs &&
	    make -j2 && make install)
fi
# uthash is headers only: take uthash-dev's (not /usr/include, glibc's).
for h in uthash.h utlist.h utarray.h utstring.h; do
	cp "/usr/include/$h" "$prefix/include/"
done

# udp-over-tcp itself, from the tarball; pkg-config sees only the musl
# builds (PKG_CONFIG_LIBDIR), and libsystemd, glibc-only here, is off.
# So is OpenSSL, not built for musl here: this is the build without TLS,
# whose --tls options must say so.
rm -rf "$work/build"
mkdir -p "$work/build"
tar -xzf "$tarball" -C "$work/build"
cd "$work/build"/udp-over-tcp-*
./configure CC=musl-gcc CPPFLAGS="-I$prefix/include" \
    PKG_CONFIG_LIBDIR="$prefix/lib/pkgconfig" \
    --with-systemd=no --with-openssl=no --enable-werror
make -j2
if command -v file >/dev/null 2>&1; then
	file src/udp-over-tcp
fi
./src/udp-over-tcp --version
if ./src/udp-over-tcp --version | grep -q OpenSSL; then
	echo "musl-build: --version names OpenSSL in a build without it" >&2
	exit 1
fi
# It must fail (status 2), so not under set -e's eye.
tls_rc=0
tls_err=$(./src/udp-over-tcp --tcp-connect 127.0.0.1:9 --udp-bind 127.0.0.1:9 \
    --udp-sendto 127.0.0.1:9 --tls 2>&1) || tls_rc=$?
case "$tls_rc:$tls_err" in
2:*"no TLS support"*) ;;
*)
	echo "musl-build: --tls in a build without TLS: status $tls_rc, '$tls_err'" >&2
	exit 1
	;;
esac
if [ "${MAKE_CHECK:-yes}" != no ]; then
	if ! make -j2 check; then
		cat tests/test-suite.log
		exit 1
	fi
fi
echo "musl-build: done in $(pwd)"
