#!/bin/sh
# The CRIU of the blackout bench: Debian sid's criu (4.2 and later), unpacked with its libraries
# into $PRAM_CRIU_CACHE/<version>/root (default /var/cache/pram-criu) and run through sid's own
# dynamic loader, so the host's packages are left alone. Why not the host's: bookworm's criu
# 3.17 stops at "vdso: Unexpected rt vDSO area bounds" on kernels with the [vvar_vclock]
# mapping (6.13 on, so the LUO guest's 7.2); CRIU 4.1 reads it. The packages come with private
# apt directories (as test/e2e/luo/build-kernel.sh fetches the kernel source). Prints the path
# of a `criu` wrapper as its last line (criu-nonft beside it: for kernels without nf_tables); a
# present one is reused.
set -eu
CACHE=${PRAM_CRIU_CACHE:-/var/cache/pram-criu}
APT="$CACHE/apt"
mkdir -p "$APT/lists/partial" "$APT/archives/partial"
exec 9>"$CACHE/.lock"
flock 9
echo 'deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian sid main' > "$APT/sid.list"
A="-o Dir::Etc::sourcelist=$APT/sid.list -o Dir::Etc::sourceparts=- -o Dir::State::Lists=$APT/lists
   -o Dir::State::status=/dev/null -o Dir::Cache=$APT -o Acquire::Check-Valid-Until=false"
[ -n "$(ls "$APT/lists" | grep Packages)" ] || apt-get $A update >&2
VERSION=$(apt-cache $A show criu | sed -n 's/^Version: //p' | head -1)
OUT="$CACHE/$VERSION"
if [ -x "$OUT/criu" ]; then echo "$OUT/criu"; exit 0; fi
# criu and everything it needs, down to libc: the host's bookworm libraries are too old for it.
PKGS=$(apt-cache $A depends --recurse --no-recommends --no-suggests --no-conflicts --no-breaks \
  --no-replaces --no-enhances criu | grep -v '^ ' | grep -v '^<' | sort -u)
rm -rf "$OUT"; mkdir -p "$OUT/debs" "$OUT/root"
echo "fetching sid's criu $VERSION and its libraries into $OUT" >&2
(cd "$OUT/debs" && apt-get $A download $PKGS >&2)
for d in "$OUT/debs"/*.deb; do dpkg-deb -x "$d" "$OUT/root"; done
rm -rf "$OUT/debs"
R="$OUT/root"
cat > "$OUT/criu.tmp" <<WRAP
#!/bin/sh
exec $R/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2 --library-path $R/usr/lib/x86_64-linux-gnu:$R/lib/x86_64-linux-gnu $R/usr/sbin/criu "\$@"
WRAP
# criu-nonft: the same criu over lib/nft-stub.c, for kernels without nf_tables (see there).
HERE=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$OUT/nonft"
printf 'LIBNFTABLES_1 { global: *; };\n' > "$OUT/nonft/nft.map"
gcc -shared -fPIC -O2 -Wl,--version-script="$OUT/nonft/nft.map" -Wl,-soname,libnftables.so.1 -o "$OUT/nonft/libnftables.so.1" "$HERE/nft-stub.c"
sed "s|--library-path |--library-path $OUT/nonft:|" "$OUT/criu.tmp" > "$OUT/criu-nonft"
chmod 755 "$OUT/criu.tmp" "$OUT/criu-nonft"
"$OUT/criu.tmp" --version >&2
mv "$OUT/criu.tmp" "$OUT/criu"
echo "$OUT/criu"
