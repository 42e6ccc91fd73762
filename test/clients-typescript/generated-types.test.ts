import { spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import { CLIENT_DIR, clientInstalled, INSTALL_HINT } from './load-client.js'

// The client's types are generated from openapi/openapi.json and committed. When a route
// changes, `npm run openapi` updates the document; this fails until the client is regenerated.
t.test('the generated client types match openapi/openapi.json', async (t) => {
  if (!clientInstalled()) return t.fail(INSTALL_HINT)
  const dir = mkdtempSync(path.join(tmpdir(), 'shizenha-client-types-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const fresh = path.join(dir, 'openapi.ts')
  const run = spawnSync(process.execPath, ['scripts/generate.mjs', '--out', fresh], { cwd: fileURLToPath(CLIENT_DIR), encoding: 'utf8', timeout: 120_000 })
  t.equal(run.status, 0, `the generator runs: ${run.stderr}`)
  const committed = readFileSync(new URL('src/generated/openapi.ts', CLIENT_DIR), 'utf8')
  t.ok(
    readFileSync(fresh, 'utf8') === committed,
    'clients/typescript/src/generated/openapi.ts is up to date (when not: `npm run generate --prefix clients/typescript`, and commit it)'
  )
})
