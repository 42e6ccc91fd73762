import { execFile } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import t from 'tap'
import { createRecipient, grantConsent } from '../fixtures.js'
import { buildTestApp, createClient } from '../helper.js'
import { CLIENT_DIR, clientInstalled, INSTALL_HINT } from './load-client.js'

const run = promisify(execFile)
const ROOT = fileURLToPath(new URL('../../', import.meta.url))

/** The README's billing snippet, exactly as a calling system's developer would paste it. */
function readmeSnippet(): string {
  const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf8')
  const after = readme.slice(readme.indexOf('A billing system writes:'))
  const block = /```ts\n([\s\S]*?)```/.exec(after)
  if (!block?.[1]) throw new Error('README.md has no ```ts block after "A billing system writes:"')
  return block[1]
}

// What the snippet leaves to its surroundings: the invoice, the bank's id and the two outcomes.
const SURROUNDINGS = `
const invoice = { id: process.env.INVOICE_ID!, memberId: process.env.MEMBER_ID! }
const BANK_ID = process.env.BANK_ID!
async function sendDebitFile(sent: typeof invoice): Promise<void> { console.log('sent ' + sent.id) }
async function holdInvoice(held: typeof invoice, reasons: readonly { code: string }[]): Promise<void> {
  console.log('held ' + held.id + ' ' + reasons.map((reason) => reason.code).join(','))
}
`

t.test('a fresh project installs the client with one npm install of its folder and runs the README snippet unchanged', async (t) => {
  if (!clientInstalled()) return t.fail(INSTALL_HINT)
  const project = mkdtempSync(path.join(tmpdir(), 'shizenha-client-user-'))
  t.teardown(() => rmSync(project, { recursive: true, force: true }))
  writeFileSync(path.join(project, 'package.json'), JSON.stringify({ name: 'billing-system', private: true, type: 'module' }))
  await run('npm', ['install', '--no-audit', '--no-fund', '--offline', fileURLToPath(CLIENT_DIR)], { cwd: project, timeout: 120_000 })

  writeFileSync(path.join(project, 'billing.ts'), SURROUNDINGS + readmeSnippet())
  writeFileSync(
    path.join(project, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: {
        target: 'ES2022',
        module: 'NodeNext',
        moduleResolution: 'NodeNext',
        strict: true,
        lib: ['ES2022', 'DOM'],
        // The project installs nothing but the client; Node's types come from this checkout.
        typeRoots: [path.join(ROOT, 'node_modules/@types')],
        types: ['node']
      },
      files: ['billing.ts']
    })
  )
  const tsc = path.join(ROOT, 'node_modules/typescript/bin/tsc')
  const compiled = await run(process.execPath, [tsc, '-p', project], { cwd: project }).then(
    () => '',
    (err: Error & { stdout?: string }) => err.stdout ?? err.message
  )
  t.equal(compiled, '', 'the snippet type-checks against the installed client (an `as const` request included)')

  const test = await buildTestApp(t)
  await test.app.listen({ port: 0, host: '127.0.0.1' })
  const bank = (await createRecipient(test)).id
  await grantConsent(test, 'M-snippet-1')
  const { token } = await createClient(test, { name: 'billing system', role: 'system', channels: ['third_party'], purposes: ['billing'] })
  const env = {
    ...process.env,
    SHARING_URL: `http://127.0.0.1:${(test.app.server.address() as AddressInfo).port}`,
    SHARING_TOKEN: token,
    BANK_ID: bank
  }
  const allowed = await run(process.execPath, ['billing.js'], { cwd: project, env: { ...env, INVOICE_ID: 'inv-1', MEMBER_ID: 'M-snippet-1' } })
  t.equal(allowed.stdout.trim(), 'sent inv-1', 'a member with consent on record: the debit file is sent')
  const denied = await run(process.execPath, ['billing.js'], { cwd: project, env: { ...env, INVOICE_ID: 'inv-2', MEMBER_ID: 'M-snippet-2' } })
  t.match(denied.stdout.trim(), /^held inv-2 .*consent/, 'a member without one: the invoice is held, with the reason')

  const ledger = await test.request({ method: 'GET', url: `/v1/ledger?recipientId=${bank}` })
  t.same(
    ledger
      .json<{ entries: { memberId: string; decision: string }[] }>()
      .entries.map((entry) => `${entry.memberId}:${entry.decision}`)
      .sort(),
    ['M-snippet-1:allow', 'M-snippet-2:deny'],
    'both hand-offs are in the ledger'
  )
})
