import t from 'tap'
import { createFirstAdmin, FIRST_ADMIN_ID } from '../../src/clients/first-admin.js'
import { findClient } from '../../src/clients/repository.js'
import { checkpointSettingsOf } from '../../src/ledger/checkpoints-service.js'
import { loadConfig } from '../../src/config.js'
import { forEachBackend } from './backends.js'

// What the rest of the code decides from the capabilities, proven on the backend that has them:
// the suite runs the HTTP tests on one database only, so each difference is asserted here.

const EXPECTED = {
  postgres: { copy: true, overlappingCommits: true, pageRows: 8192, onEventLoop: false, embedded: false, notifies: 'url' },
  pglite: { copy: false, overlappingCommits: false, pageRows: 1024, onEventLoop: true, embedded: true, notifies: 'listen' }
} as const

forEachBackend(t, async (t, backend) => {
  const database = await backend.open(t)
  const { capabilities } = database
  const expected = EXPECTED[backend.engine]

  t.test('the capabilities the dialect sets', async (t) => {
    t.match(capabilities, {
      copy: expected.copy,
      overlappingCommits: expected.overlappingCommits,
      pageRows: expected.pageRows,
      onEventLoop: expected.onEventLoop,
      embedded: expected.embedded
    })
    t.ok(expected.notifies in capabilities.notifications, `notifications arrive through ${expected.notifies}`)
    if ('listen' in capabilities.notifications) t.type(capabilities.notifications.listen, 'function', 'the embedded listen is there')
  })

  t.test('a pool to report on /metrics only where there are several connections', async (t) => {
    const usage = database.poolUsage()
    if (capabilities.overlappingCommits) t.match(usage, { total: Number, idle: Number, waiting: Number })
    else t.equal(usage, undefined)
  })

  t.test('the start-up summary names where the data is, never a password', async (t) => {
    t.match(database.label, capabilities.embedded ? /^embedded PostgreSQL \(PGlite\) in / : /^PostgreSQL at 127\.0\.0\.1:\d+\/t_[0-9a-f]+$/)
  })

  t.test('a first start makes an admin only on the embedded database, once', async (t) => {
    const now = new Date('2026-12-07T00:00:00Z')
    const token = await createFirstAdmin(database, now)
    const admin = await findClient(database.db, FIRST_ADMIN_ID)
    if (capabilities.embedded) {
      t.type(token, 'string', 'a token is handed back')
      t.match(admin, { role: 'admin', revokedAt: null })
      t.equal(await createFirstAdmin(database, now), undefined, 'and no second one once a client exists')
    } else {
      t.equal(token, undefined, 'on a server an admin appears only through the bootstrap token or the CLI')
      t.equal(admin, undefined)
    }
  })

  t.test('the checkpoint key is pinned where the database outlives DATA_DIR', async (t) => {
    const settings = checkpointSettingsOf(loadConfig({}, {}), capabilities)
    t.equal(settings.pinKey, !capabilities.embedded)
  })
})
