#!/usr/bin/env node
// The `shizenha` ops command: package.json "bin" (`npx shizenha …`) and `npm run ops -- …`.
//
// It runs the build in dist/, not the TypeScript sources through tsx, which transformed every
// module it loaded on every call. In a checkout, scripts/build-if-stale.mjs first rebuilds dist/ when a
// source or migration is newer than it (its output on stderr), so the CLI is never older than the
// code in front of you: a stale dist/ would migrate with an old set of migrations. Where only the
// build is (the container image: `node dist/src/cli/main.js …`), it runs that.
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

const root = new URL('../../', import.meta.url)
const builder = new URL('scripts/build-if-stale.mjs', root)
const compiled = new URL('dist/src/cli/main.js', root)

const { buildIfStale } = existsSync(builder) ? await import(builder.href) : {}
const build = buildIfStale ? buildIfStale(fileURLToPath(root)) : 'fresh'
if (build === 'failed' && !existsSync(compiled)) {
  process.stderr.write('shizenha: not built: run `npm install`, then `npm run build`\n')
  process.exitCode = 1
} else if (build === 'failed') {
  process.stderr.write('shizenha: dist/ could not be rebuilt (see above); fix the build, or run `npm run build` to see why\n')
  process.exitCode = 1
} else {
  await import(compiled.href)
}
