#!/usr/bin/env bash
# Cargo does not rebuild a C/C++ dependency when the [env] of .cargo/config.toml changes
# (whisper-rs-sys declares no rerun-if-env-changed for the GGML_* flags it forwards to
# CMake), so a cached target dir would keep a whisper.cpp built with the old flags. Keep
# a hash of the file in the target dir and clean the native crates when it changes.
set -euo pipefail
cd "$(dirname "$0")/.."
TARGET=${CARGO_TARGET_DIR:-$PWD/target}
STAMP=$TARGET/.native-flags.sha256
want=$(sha256sum .cargo/config.toml | cut -d' ' -f1)
# A target dir without a stamp but with a whisper.cpp build predates the stamp: clean
# it too. One without either (a fresh cache) builds with the current flags anyway.
built() { compgen -G "$TARGET/*/build/whisper-rs-sys-*" > /dev/null; }
if [ -d "$TARGET" ] && [ "$(cat "$STAMP" 2> /dev/null)" != "$want" ] && { [ -f "$STAMP" ] || built; }; then
  echo "native-flags: .cargo/config.toml changed; rebuilding whisper-rs-sys with the new flags"
  cargo clean -q -p whisper-rs-sys
  cargo clean -q -p whisper-rs-sys --release
fi
mkdir -p "$TARGET"
echo "$want" > "$STAMP"
