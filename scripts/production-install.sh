#!/bin/sh
# The one production install recipe, shared by the Dockerfile and test/production-install.test.ts so the
# image cannot drift from what CI runs:
#   production-install.sh pack SRC_DIR OUT_DIR     npm pack a built checkout (dist/ already compiled by
#                                                  `npm ci`/`npm run build`) into OUT_DIR/o365-message-trace.tgz
#   production-install.sh install TGZ PREFIX       install it with production dependencies only, so the
#                                                  command is PREFIX/bin/o365-message-trace
set -eu
case "${1:-}" in
  pack)
    src=$2 out=$3
    mkdir -p "$out" && out=$(cd "$out" && pwd)
    # --ignore-scripts: `prepare` (tsc) already ran in the checkout; rebuilding here would rewrite dist/
    # under tests that run it.
    test -f "$src/dist/cli/main.js" && test -f "$src/dist/bundle/main.js" || { echo "production-install.sh: $src/dist is not built; run npm ci or npm run build first" >&2; exit 2; }
    name=$(cd "$src" && npm pack --silent --ignore-scripts --pack-destination "$out" | tail -n 1)
    mv "$out/$name" "$out/o365-message-trace.tgz"
    ;;
  install)
    tgz=$2 prefix=$3
    # A global install into PREFIX puts the command at PREFIX/bin (PREFIX=/usr/local gives
    # /usr/local/bin/o365-message-trace, the path every example uses). --prefer-offline: the local npm
    # cache (filled by npm ci) answers when it can. --allow-scripts=fs-ext: a global install reads no
    # project allowScripts, and npm 12 runs no unlisted install script (fs-ext builds the flock addon);
    # npm 10 ignores the flag.
    npm install --global --prefix "$prefix" --omit=dev --prefer-offline --no-audit --no-fund --loglevel=error --allow-scripts=fs-ext "$tgz"
    ;;
  *)
    echo "usage: production-install.sh pack SRC_DIR OUT_DIR | install TGZ PREFIX" >&2
    exit 2
    ;;
esac
