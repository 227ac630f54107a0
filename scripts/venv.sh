# Sourced by scripts: creates the project venv once and exports VENV.
VENV=${HERMES_VENV:-$PWD/.venv}
if [ ! -x "$VENV/bin/pip" ]; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --upgrade pip
fi
export VENV
