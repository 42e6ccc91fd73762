import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import t from 'tap'
import { shizenha } from './run-cli.js'

const dir = mkdtempSync(path.join(tmpdir(), 'shizenha-cli-usage-'))
t.teardown(() => rmSync(dir, { recursive: true, force: true }))

t.test('--help on every command: exit 0', async (t) => {
  const help = await shizenha(['--help'], {})
  t.equal(help.code, 0, '--help exits 0')
  t.match(help.stdout, /Usage: shizenha/)
  t.match(help.stdout, /How it connects:/)
  t.match(help.stdout, /Exit codes:/)
  const commands = [
    ['migrate'],
    ['clients'],
    ['clients', 'create'],
    ['clients', 'list'],
    ['clients', 'revoke'],
    ['verify'],
    ['export'],
    ['export', 'ledger'],
    ['export', 'provision-records'],
    ['policy'],
    ['checkpoint']
  ]
  // Each call is a process of its own that waits mostly on start-up: side by side, not one after another.
  const runs = await Promise.all(commands.map((command) => shizenha([...command, '--help'], {})))
  commands.forEach((command, i) => {
    t.equal(runs[i]!.code, 0, `${command.join(' ')} --help exits 0`)
    t.match(runs[i]!.stdout, new RegExp(`^Usage: shizenha ${command.join(' ')}`))
  })
})

t.test('usage errors: exit 2, with the reason on stderr', async (t) => {
  const cases: [string[], RegExp][] = [
    [[], /Usage: shizenha/],
    [['frobnicate'], /unknown command 'frobnicate'/],
    [['verify', '--fast'], /unknown option '--fast'/],
    [['clients', 'create', '--role', 'ops'], /required option '--name <name>' not specified/],
    [['clients', 'create', '--name', 'x', '--role', 'boss'], /Allowed choices are admin, ops, system/],
    [['clients', 'create', '--name', 'x', '--role', 'system', '--channels', 'telepathy'], /channels are joint_use/],
    [['clients', 'create', '--name', 'x', '--role', 'system', '--rate-limit', '0'], /a whole number from 1/],
    [['clients', 'create', '--name', 'x', '--role', 'ops', '--purposes', 'billing'], /limit system clients only/],
    [['clients', 'revoke'], /missing required argument 'id'/],
    [['export', 'provision-records', 'M 1'], /a member id is 1 to 64/],
    [['export', 'provision-records', 'M-1', '--format', 'xml'], /Allowed choices are json, csv/],
    [['migrate', '--url', 'http://127.0.0.1:1'], /drop --url/],
    [['verify', '--url', 'http://127.0.0.1:1'], /SHIZENHA_TOKEN/],
    [['verify', '--url', 'ftp://example.test'], /http:\/\/ or https:\/\//]
  ]
  const [settings, ...runs] = await Promise.all([
    shizenha(['clients', 'list'], { DATABASE_SCHEMA: 'Not-A-Schema' }),
    ...cases.map(([args]) => shizenha(args, {}))
  ])
  cases.forEach(([args, message], i) => {
    t.equal(runs[i]!.code, 2, `exit 2: shizenha ${args.join(' ')}`)
    t.match(runs[i]!.stderr, message)
  })
  t.equal(settings.code, 2, 'invalid settings are a usage error')
  t.match(settings.stderr, /DATABASE_SCHEMA/)
})

t.test('cannot connect: exit 3', async (t) => {
  const [noServer, noDataDir, noService] = await Promise.all([
    shizenha(['clients', 'list'], { DATABASE_URL: 'postgres://postgres:secret-pw@127.0.0.1:1/nowhere' }),
    shizenha(['verify'], { DATA_DIR: path.join(dir, 'missing') }),
    shizenha(['verify', '--url', 'http://127.0.0.1:1'], { SHIZENHA_TOKEN: 'x'.repeat(20) })
  ])
  t.equal(noServer.code, 3)
  t.match(noServer.stderr, /127\.0\.0\.1:1/)
  t.notMatch(noServer.stderr, /secret-pw/, 'never the password')
  t.equal(noDataDir.code, 3)
  t.match(noDataDir.stderr, /no embedded database/)
  t.equal(noService.code, 3)
  t.match(noService.stderr, /cannot reach the service at http:\/\/127\.0\.0\.1:1/)
})
