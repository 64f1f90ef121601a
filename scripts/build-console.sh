#!/usr/bin/env bash
# Builds the web console (console/: preact, bundled by esbuild at build time; nothing is fetched
# from a CDN at run time) into dist/console/, which the master's HTTP API serves at `/`;
# `npm run build` runs it. The console's TypeScript is checked first (console/tsconfig.json:
# DOM types and preact's JSX, apart from the Node code's).
set -euo pipefail
cd "$(dirname "$0")/.."
npx tsc -p console/tsconfig.json
mkdir -p dist/console
npx esbuild console/src/main.tsx --bundle --minify --format=esm --target=es2022 \
  --jsx=automatic --jsx-import-source=preact --legal-comments=none \
  --outfile=dist/console/app.js --log-level=warning
cp console/index.html console/app.css dist/console/
