#!/usr/bin/env node
// The `shizenha` ops command: package.json "bin" (`npx shizenha …`) and `npm run ops -- …`.
//
// In a checkout with the dev dependencies (`npm install`), it runs the TypeScript source through
// tsx, so it is never older than the code in front of you (a stale dist/ would migrate with an
// old set of migrations). Without tsx (`npm ci --omit=dev`), it runs the build in dist/
// (`npm run build`); the container image has only the build: `node dist/src/cli/main.js …`.
import { existsSync } from 'node:fs'

const root = new URL('../../', import.meta.url)
const source = new URL('src/cli/main.ts', root)
const compiled = new URL('dist/src/cli/main.js', root)

async function loadTsx() {
  try {
    return await import('tsx/esm/api')
  } catch {
    return undefined
  }
}

const tsx = existsSync(source) ? await loadTsx() : undefined
if (tsx) {
  tsx.register()
  await import(source.href)
} else if (existsSync(compiled)) {
  await import(compiled.href)
} else {
  process.stderr.write('shizenha: not built: run `npm install` (a development checkout) or `npm run build` first\n')
  process.exitCode = 1
}
